import Testing
import BenchmarkSupport

/// bench-pipe's counter: the stream `PatternSource` writes passes `PatternCheck` in any
/// chunking, and every kind of damage a relay could do to it is found at its offset.
struct PatternCheckTests {
    /// The first `count` bytes of the stream, built the way the feeder writes it.
    static func stream(count: Int) -> [UInt8] {
        var source = PatternSource()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var index = 0
        while bytes.count < count {
            source.select(index)
            bytes += source.block.prefix(count - bytes.count)
            index += 1
        }
        return bytes
    }

    /// Feeds `bytes` to a fresh check in pieces of the given sizes, cycling through them.
    static func check(_ bytes: [UInt8], pieces: [Int]) -> PatternCheck {
        var check = PatternCheck()
        var offset = 0
        var turn = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let length = min(pieces[turn % pieces.count], raw.count - offset)
                check.update(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length]))
                offset += length
                turn += 1
            }
        }
        return check
    }

    static let size = 3 * PatternSource.blockSize + 12_345

    @Test(arguments: [[PatternSource.blockSize], [1 << 16], [7, 65_537, 1_000_003], [size]])
    func theStreamSentPassesInAnyChunking(pieces: [Int]) {
        let check = Self.check(Self.stream(count: Self.size), pieces: pieces)
        #expect(check.firstMismatch == nil)
        #expect(check.offset == Self.size)
    }

    @Test func aChangedByteIsFoundAtItsOffset() {
        var bytes = Self.stream(count: Self.size)
        let offset = 2 * PatternSource.blockSize + 4_321
        bytes[offset] ^= 0x01
        #expect(Self.check(bytes, pieces: [65_536]).firstMismatch == offset)
    }

    @Test func aLostByteIsFound() {
        var bytes = Self.stream(count: Self.size)
        bytes.remove(at: 100_000)
        let found = Self.check(bytes, pieces: [65_536]).firstMismatch
        #expect(found != nil)
        #expect((found ?? 0) >= 100_000)
    }

    @Test func twoBlocksInTheWrongOrderAreFoundWhereTheFirstBegins() {
        let bytes = Self.stream(count: 3 * PatternSource.blockSize)
        let block = PatternSource.blockSize
        let swapped = Array(bytes[0..<block] + bytes[2 * block..<3 * block] + bytes[block..<2 * block])
        // Blocks differ only in their 8-byte number: the first byte of that number.
        #expect(Self.check(swapped, pieces: [1 << 20]).firstMismatch == block)
    }

    @Test func aRepeatedBlockIsFound() {
        let bytes = Self.stream(count: 2 * PatternSource.blockSize)
        let repeated = bytes + bytes[PatternSource.blockSize...]
        #expect(Self.check(Array(repeated), pieces: [65_536]).firstMismatch == 2 * PatternSource.blockSize)
    }
}
