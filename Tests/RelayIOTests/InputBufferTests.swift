import Testing
@testable import RelayIO

struct InputBufferTests {
    @Test func consumeAndAppendKeepTheUnreadBytes() {
        let buffer = InputBuffer(capacity: 16)
        let first: [UInt8] = Array(0..<12)
        first.withUnsafeBytes { buffer.append($0) }
        buffer.consume(10)
        #expect(Array(buffer.readableBytes) == [10, 11])
        let second: [UInt8] = Array(100..<130)  // forces a move to the front and growth
        second.withUnsafeBytes { buffer.append($0) }
        #expect(Array(buffer.readableBytes) == [10, 11] + second)
        #expect(buffer.capacity >= 32)
        buffer.consume(buffer.readableCount)
        #expect(buffer.readableCount == 0)
    }

    @Test func reserveWritableCompactsBeforeGrowing() {
        let buffer = InputBuffer(capacity: 64)
        let bytes: [UInt8] = Array(0..<60)
        bytes.withUnsafeBytes { buffer.append($0) }
        buffer.consume(50)
        buffer.reserveWritable(50)  // 10 unread + 50 fit in 64 after moving
        #expect(buffer.capacity == 64)
        #expect(Array(buffer.readableBytes) == Array(50..<60))
    }

    @Test func shrinkIfEmptyGivesMemoryBack() {
        let buffer = InputBuffer(capacity: 16)
        [UInt8](repeating: 7, count: 1_000).withUnsafeBytes { buffer.append($0) }
        buffer.shrinkIfEmpty(to: 16)
        #expect(buffer.capacity >= 1_000)  // not empty: kept
        buffer.consume(1_000)
        buffer.shrinkIfEmpty(to: 16)
        #expect(buffer.capacity == 16)
    }
}
