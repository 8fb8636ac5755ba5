/// The bytes sent: a 1 MiB block of xorshift64* output made once, written again and
/// again with its first 8 bytes replaced by the block's number, so the stream never
/// repeats a block and a lost or reordered block changes the checksum. Generating costs
/// nothing per byte (the block is made once), so the benchmark's own CPU goes to the
/// `write` copies only. The content does not change what the clients cost: AES-GCM (TLS)
/// and the end-to-end seal cost the same for any bytes, and nothing compresses.
struct PatternSource {
    static let blockSize = 1 << 20
    private(set) var block: [UInt8]
    /// Σ w_j and Σ (m − j) w_j of the base block's words (m words, j from 0): what
    /// `expectedChecksum` needs to advance a whole block in one step.
    private let baseSum: UInt64
    private let baseWeighted: UInt64
    private let firstWord: UInt64

    init(seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: Self.blockSize)
        bytes.withUnsafeMutableBytes { raw in
            for index in 0..<(Self.blockSize / 8) {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                raw.storeBytes(of: (state &* 0x2545_F491_4F6C_DD1D).littleEndian, toByteOffset: 8 * index, as: UInt64.self)
            }
        }
        block = bytes
        let words = UInt64(Self.blockSize / 8)
        var sum: UInt64 = 0
        var weighted: UInt64 = 0
        bytes.withUnsafeBytes { raw in
            for index in 0..<Int(words) {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
                sum = sum &+ word
                weighted = weighted &+ (words &- UInt64(index)) &* word
            }
        }
        baseSum = sum
        baseWeighted = weighted
        firstWord = UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    }

    /// Makes `block` the stream's block number `index`.
    mutating func select(_ index: Int) {
        block.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(index).littleEndian, toByteOffset: 0, as: UInt64.self) }
    }

    /// The checksum of the first `count` bytes of the stream, without generating them.
    func expectedChecksum(count: Int) -> (UInt64, UInt64) {
        var checksum = StreamChecksum()
        let words = UInt64(Self.blockSize / 8)
        let whole = count / Self.blockSize
        for index in 0..<whole {
            let number = UInt64(index)
            checksum.advance(words: words, sum: baseSum &- firstWord &+ number,
                             weighted: baseWeighted &+ words &* (number &- firstWord))
        }
        let rest = count - whole * Self.blockSize
        if rest > 0 {
            var last = self
            last.select(whole)
            last.block.withUnsafeBytes { checksum.update(UnsafeRawBufferPointer(rebasing: $0[0..<rest])) }
        }
        return checksum.finished()
    }
}
