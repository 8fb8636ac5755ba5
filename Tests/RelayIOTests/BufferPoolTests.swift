import Testing
@testable import RelayIO

/// Receive buffers lent by a pool: an idle buffer holds no storage, and storage comes
/// back to the pool for the next connection.
struct BufferPoolTests {
    @Test func anEmptiedBufferGivesItsStorageBackAndTakesItAgain() {
        let pool = BufferPool(bufferSize: 4096, maximumSpares: 2)
        let buffer = InputBuffer(capacity: 16, pool: pool)
        buffer.reserveWritable(4096)
        #expect(buffer.capacity == 4096)
        [UInt8](repeating: 7, count: 10).withUnsafeBytes { buffer.append($0) }
        buffer.releaseIfEmpty()
        #expect(buffer.capacity == 4096, "a buffer with unconsumed bytes keeps its storage")
        buffer.consume(10)
        buffer.releaseIfEmpty()
        #expect(buffer.capacity == 0 && pool.spareCount == 1)
        let other = InputBuffer(capacity: 16, pool: pool)
        other.reserveWritable(100)
        #expect(other.capacity == 4096 && pool.spareCount == 0, "the next buffer reuses the spare")
    }

    @Test func unreadBytesSurviveGrowingIntoPooledStorage() {
        let pool = BufferPool(bufferSize: 64)
        let buffer = InputBuffer(capacity: 16, pool: pool)
        let bytes = (0..<40).map { UInt8($0) }
        bytes.withUnsafeBytes { buffer.append($0) }
        buffer.consume(5)
        buffer.reserveWritable(200)
        #expect(Array(buffer.readableBytes) == Array(bytes[5...]))
    }

    @Test func thePoolKeepsAtMostItsSparesAndNothingTooSmallOrTooLarge() {
        let pool = BufferPool(bufferSize: 1024, maximumSpares: 2, maximumSpareSize: 4096)
        pool.give(.allocate(byteCount: 512, alignment: 16))
        pool.give(.allocate(byteCount: 8192, alignment: 16))
        #expect(pool.spareCount == 0)
        for _ in 0..<3 { pool.give(.allocate(byteCount: 2048, alignment: 16)) }
        #expect(pool.spareCount == 2)
        let taken = pool.take(atLeast: 100)
        #expect(taken.count == 2048)
        taken.deallocate()
        let large = pool.take(atLeast: 3000)
        #expect(large.count == 3000 && pool.spareCount == 1)
        large.deallocate()
    }
}
