#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RelayIO

/// What the output queue tells about the bytes it held: positions (to follow particular
/// bytes until they are written) and secrets wiped as soon as they are written.
struct OutputQueueAccountingTests {
    @Test func positionsCountEveryByteAppendedAndRetiredCountsThoseGone() throws {
        let writer = OutputQueueTests.ScriptedWriter(budgets: [5, nil, 100])
        let queue = OutputQueue { writer.write($0) }
        queue.append(OutputQueueTests.bytes(8, seed: 1))
        #expect(queue.position == 8 && queue.retiredCount == 0)
        queue.append(OutputQueueTests.bytes(4, seed: 2))
        #expect(try queue.flush() == false)
        #expect(queue.retiredCount == 5 && queue.position == 12)
        #expect(try queue.flush() == false)
        #expect(try queue.flush() == true)
        #expect(queue.retiredCount == 12)
        queue.append(OutputQueueTests.bytes(3, seed: 3))
        queue.removeAll()
        #expect(queue.retiredCount == 15 && queue.position == 15, "dropped bytes are gone too")
    }

    @Test func aSecretIsWipedOnceWritten() throws {
        var seen: UnsafeMutableRawPointer?
        let queue = OutputQueue { vectors in
            seen = vectors.first?.iov_base
            return .processed(vectors.reduce(0) { $0 + $1.iov_len })
        }
        let secret = [UInt8](repeating: 0xA5, count: 41)
        secret.withUnsafeBytes { queue.appendSecret($0) }
        #expect(try queue.flush())
        // The written chunk is kept for reuse (the queue's spare), so its memory is still
        // the queue's to read: every byte must be zero.
        let written = try #require(seen)
        let bytes = UnsafeRawBufferPointer(start: written, count: secret.count)
        #expect(bytes.allSatisfy { $0 == 0 }, "the secret stayed in the queue's memory after it was written")
    }

    @Test func aSecretIsWipedWhenDropped() throws {
        let queue = OutputQueue { _ in .wouldBlock }
        let secret = [UInt8](repeating: 0x5A, count: 32)
        secret.withUnsafeBytes { queue.appendSecret($0) }
        #expect(queue.byteCount == 32)
        queue.removeAll()
        #expect(queue.isEmpty)
    }
}
