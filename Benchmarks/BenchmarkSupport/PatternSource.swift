/// The bytes sent: a 1 MiB block of xorshift64* output made once, written again and
/// again with its first 8 bytes replaced by the block's number, so the stream never
/// repeats a block and `PatternCheck` finds a lost, repeated or reordered one. Generating
/// costs nothing per byte (the block is made once), so the benchmark's own CPU goes to the
/// `write` copies only. The content does not change what the clients cost: AES-GCM (TLS)
/// and the end-to-end seal cost the same for any bytes, and nothing compresses.
public struct PatternSource {
    /// The block's size: 1 MiB.
    public static let blockSize = 1 << 20
    /// The block as the stream carries it now (`select` sets its number).
    public private(set) var block: [UInt8]

    /// Makes the block from `seed` (the same seed, the same stream).
    public init(seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
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
    }

    /// Makes `block` the stream's block number `index`.
    public mutating func select(_ index: Int) {
        block.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(index).littleEndian, toByteOffset: 0, as: UInt64.self) }
    }
}
