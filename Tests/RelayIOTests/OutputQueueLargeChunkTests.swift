#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RelayIO

/// Large chunks leave the queue as soon as they are written, even while the queue is
/// not empty (a receiver that never catches up), and the largest is reused.
struct OutputQueueLargeChunkTests {
    @Test func aWrittenLargeChunkIsReusedWhileTheQueueIsStillBusy() throws {
        let size = 256 * 1024
        let first = OutputQueueTests.bytes(size, seed: 1)
        let second = OutputQueueTests.bytes(size, seed: 2)
        let third = OutputQueueTests.bytes(size, seed: 3)
        let writer = OutputQueueTests.ScriptedWriter(budgets: [size])
        let queue = OutputQueue { writer.write($0) }
        queue.append(first)
        queue.append(second)
        #expect(try queue.flush() == false)  // the first chunk only; the second waits
        let firstChunk = try #require(writer.offered.first?.first)
        queue.append(third)                  // into the first chunk's storage, written out
        #expect(try queue.flush() == true)
        let last = try #require(writer.offered.last)
        #expect(last.count == 2)
        #expect(last.last == firstChunk)
        #expect(writer.written == first + second + third)
        #expect(queue.isEmpty)
    }
}
