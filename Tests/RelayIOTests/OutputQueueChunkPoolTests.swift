#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RelayIO

/// Where a queue's chunks come from: a pool, shared or its own, that takes written chunks
/// back and hands them to the next backlog; and a frame's header and body kept side by
/// side in one chunk.
struct OutputQueueChunkPoolTests {
    @Test func queuesSharingAPoolReuseEachOthersWrittenChunks() throws {
        let pool = OutputQueue.makeChunkPool(maximumSpares: 2)
        let firstWriter = OutputQueueTests.ScriptedWriter(budgets: [nil])
        let first = OutputQueue(writer: { firstWriter.write($0) }, chunkPool: pool)
        let secondWriter = OutputQueueTests.ScriptedWriter(budgets: [nil])
        let second = OutputQueue(writer: { secondWriter.write($0) }, chunkPool: pool)
        let bytes = OutputQueueTests.bytes(70_000, seed: 4)

        first.append(bytes)
        #expect(try first.flush() == false)  // would block: the chunk waits
        #expect(pool.spareCount == 0)
        #expect(try first.flush() == true)
        #expect(pool.spareCount == 1, "a written chunk goes back to the pool: the idle queue holds none")
        let firstChunk = try #require(firstWriter.offered.last?.first)

        second.append(bytes)
        #expect(pool.spareCount == 0)
        #expect(try second.flush() == false)
        let secondChunk = try #require(secondWriter.offered.last?.first)
        #expect(secondChunk == firstChunk, "the other queue's backlog reuses the written chunk's memory")
        #expect(try second.flush() == true)
        #expect(firstWriter.written == bytes && secondWriter.written == bytes)
    }

    @Test func thePoolKeepsNoMoreThanItsSpares() throws {
        let pool = OutputQueue.makeChunkPool(maximumSpares: 2)
        let writer = OutputQueueTests.ScriptedWriter(budgets: [nil])
        let queue = OutputQueue(writer: { writer.write($0) }, chunkPool: pool)
        for seed in 0..<5 { queue.append(OutputQueueTests.bytes(100_000, seed: UInt8(seed))) }
        #expect(try queue.flush() == false)
        #expect(try queue.flush() == true)
        #expect(pool.spareCount == 2, "five chunks written, two kept, three freed")
        queue.append(OutputQueueTests.bytes(10, seed: 9))
        queue.removeAll()
        #expect(pool.spareCount == 2)
    }

    @Test func aHeaderAndItsBodyGoOutInOneVector() throws {
        let writer = OutputQueueTests.ScriptedWriter(budgets: [])
        let queue = OutputQueue { writer.write($0) }
        let earlier = OutputQueueTests.bytes(OutputQueue.minimumChunkCapacity - 3, seed: 1)
        let header = OutputQueueTests.bytes(5, seed: 2)
        let body = OutputQueueTests.bytes(65_000, seed: 3)
        queue.append(earlier)  // the tail chunk has 3 bytes left: not enough for the header
        header.withUnsafeBytes { header in
            body.withUnsafeBytes { queue.append(header, followedBy: $0) }
        }
        #expect(queue.byteCount == earlier.count + header.count + body.count)
        #expect(try queue.flush())
        #expect(writer.vectorCounts == [2], "the earlier bytes, then header and body together")
        #expect(writer.written == earlier + header + body)

        // Both fit the tail chunk: packed there.
        let small = OutputQueueTests.bytes(40, seed: 5)
        queue.append(small)
        header.withUnsafeBytes { header in
            small.withUnsafeBytes { queue.append(header, followedBy: $0) }
        }
        #expect(try queue.flush())
        #expect(writer.vectorCounts.last == 1)
        #expect(writer.written == earlier + header + body + small + header + small)
    }

    @Test func nothingIsPackedIntoASecretsChunk() throws {
        let writer = OutputQueueTests.ScriptedWriter(budgets: [nil])
        let queue = OutputQueue { writer.write($0) }
        let secret = [UInt8](repeating: 0xA5, count: 32)
        secret.withUnsafeBytes { queue.appendSecret($0) }
        let after = OutputQueueTests.bytes(20, seed: 6)
        queue.append(after)
        #expect(try queue.flush() == false)
        #expect(try queue.flush() == true)
        #expect(writer.vectorCounts.last == 2, "the secret's chunk holds the secret alone, so it is wiped alone")
        #expect(writer.written == secret + after)
    }
}
