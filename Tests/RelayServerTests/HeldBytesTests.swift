import Testing
import RelayIO
@testable import RelayServer

/// ``HeldBytes`` follows PONG bytes through an output queue until they are written,
/// whatever else is queued before and after them.
struct HeldBytesTests {
    @Test func pongBytesCountUntilTheQueueHasWrittenPastThem() throws {
        var budgets: [Int] = [10, 69, 30, 1000]
        let queue = OutputQueue { vectors in
            let offered = vectors.reduce(0) { $0 + $1.iov_len }
            return .processed(min(offered, budgets.isEmpty ? offered : budgets.removeFirst()))
        }
        var pongs = HeldBytes()
        queue.append([UInt8](repeating: 1, count: 40))  // DATA before the PONG
        queue.append([UInt8](repeating: 2, count: 69))  // a PONG
        pongs.add(69, appendedTo: queue)
        queue.append([UInt8](repeating: 3, count: 20))  // DATA after it
        #expect(pongs.count(in: queue) == 69)
        _ = try queue.flush()  // 10 bytes
        #expect(pongs.count(in: queue) == 69)
        _ = try queue.flush()  // 69 more: 79, the PONG's last byte not yet out
        #expect(pongs.count(in: queue) == 69)
        _ = try queue.flush()  // 30 more: 109, past the PONG
        #expect(pongs.count(in: queue) == 0)
        queue.append([UInt8](repeating: 2, count: 10))
        pongs.add(10, appendedTo: queue)
        queue.removeAll()
        #expect(pongs.count(in: queue) == 0, "dropped PONGs are not held")
    }
}
