#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RelayIO

/// The output queue against a scripted writer: partial writes, would-block, errors.
struct OutputQueueTests {
    /// A writer that takes at most the scripted number of bytes per call and records them.
    final class ScriptedWriter {
        var budgets: [Int?]  // nil: would block
        var written: [UInt8] = []
        var calls = 0
        var vectorCounts: [Int] = []
        /// The start address of every vector offered, per call.
        var offered: [[UnsafeRawPointer]] = []

        init(budgets: [Int?]) { self.budgets = budgets }

        func write(_ vectors: UnsafeBufferPointer<iovec>) -> IOResult {
            calls += 1
            vectorCounts.append(vectors.count)
            offered.append(vectors.map { UnsafeRawPointer($0.iov_base!) })
            let budget = budgets.isEmpty ? Int.max : budgets.removeFirst()
            guard var remaining = budget else { return .wouldBlock }
            var total = 0
            for vector in vectors where remaining > 0 {
                let take = min(remaining, vector.iov_len)
                written.append(contentsOf: UnsafeRawBufferPointer(start: vector.iov_base, count: take))
                total += take
                remaining -= take
                if take < vector.iov_len { break }
            }
            return .processed(total)
        }
    }

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    @Test func partialWritesLeaveAnOffsetAndEverythingArrivesInOrder() throws {
        let writer = ScriptedWriter(budgets: [3, 0, nil, 10, 1, 100_000])
        let queue = OutputQueue { writer.write($0) }
        let first = Self.bytes(20, seed: 1)
        let second = Self.bytes(40_000, seed: 2)
        queue.append(first)
        queue.append(second)
        #expect(queue.byteCount == 40_020)
        #expect(try queue.flush() == false)  // 3 bytes, then stops after a short write
        #expect(queue.byteCount == 40_017)
        #expect(try queue.flush() == false)  // 0 bytes
        #expect(try queue.flush() == false)  // would block
        #expect(try queue.flush() == false)  // 10
        #expect(try queue.flush() == false)  // 1
        #expect(try queue.flush() == true)   // the rest
        #expect(queue.isEmpty)
        #expect(writer.written == first + second)
    }

    @Test func smallAppendsArePackedIntoOneVector() throws {
        let writer = ScriptedWriter(budgets: [])
        let queue = OutputQueue { writer.write($0) }
        var expected: [UInt8] = []
        for index in 0..<100 {
            let frame = Self.bytes(37, seed: UInt8(index))
            expected += frame
            queue.append(frame)
        }
        #expect(try queue.flush())
        #expect(writer.calls == 1)
        #expect(writer.vectorCounts == [1])
        #expect(writer.written == expected)
    }

    @Test func manyLargeChunksAreWrittenInBatchesOfVectors() throws {
        let writer = ScriptedWriter(budgets: [])
        let queue = OutputQueue { writer.write($0) }
        var expected: [UInt8] = []
        for index in 0..<(OutputQueue.maximumVectors + 10) {
            let chunk = Self.bytes(OutputQueue.minimumChunkCapacity, seed: UInt8(truncatingIfNeeded: index))
            expected += chunk
            queue.append(chunk)
        }
        #expect(try queue.flush())
        #expect(writer.vectorCounts == [OutputQueue.maximumVectors, 10])
        #expect(writer.written == expected)
    }

    @Test func writeOrAppendWritesDirectlyWhenEmptyAndQueuesTheRest() throws {
        let writer = ScriptedWriter(budgets: [5, 100])
        let queue = OutputQueue { writer.write($0) }
        let run = Self.bytes(12, seed: 9)
        let done = try run.withUnsafeBytes { try queue.writeOrAppend($0) }
        #expect(done == false)
        #expect(queue.byteCount == 7)
        #expect(writer.written == Array(run[0..<5]))
        #expect(try queue.flush())
        #expect(writer.written == run)
    }

    @Test func writeOrAppendKeepsOrderBehindQueuedBytes() throws {
        let writer = ScriptedWriter(budgets: [nil, 1_000])
        let queue = OutputQueue { writer.write($0) }
        queue.append([1, 2, 3])
        let done = try [UInt8]([4, 5]).withUnsafeBytes { try queue.writeOrAppend($0) }
        #expect(done == false)
        #expect(writer.calls == 0)  // nothing is written past queued bytes
        #expect(try queue.flush() == false)  // would block
        #expect(try queue.flush())
        #expect(writer.written == [1, 2, 3, 4, 5])
    }

    @Test func errorsPropagateAndMoveAllTransfersWithoutLoss() throws {
        let failing = OutputQueue { _ throws(IOError) in throw .system(SystemCallError(call: "writev", errno: EPIPE)) }
        failing.append([1, 2, 3])
        #expect(throws: IOError.system(SystemCallError(call: "writev", errno: EPIPE))) { try failing.flush() }

        let writer = ScriptedWriter(budgets: [])
        let target = OutputQueue { writer.write($0) }
        target.append([0])
        let pending = OutputQueue { _ in .wouldBlock }
        pending.append([1, 2])
        pending.append(Self.bytes(20_000, seed: 3))
        pending.moveAll(to: target)
        #expect(pending.isEmpty)
        #expect(target.byteCount == 20_003)
        #expect(try target.flush())
        #expect(writer.written == [0, 1, 2] + Self.bytes(20_000, seed: 3))
    }
}
