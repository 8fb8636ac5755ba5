#if canImport(Glibc)
import Glibc
#endif

/// Compares the received stream with the one `PatternSource` sends, byte for byte, as it
/// arrives: `memcmp` of each piece against the pattern block with the current block's
/// number in place. Exact (a lost, repeated, reordered or changed byte is found, with its
/// offset) and about as cheap as reading the bytes once more, so the counter takes little
/// CPU from the processes measured on the same cores. (A Fletcher checksum did the job
/// before at about 2 s of CPU per GiB, a fifth of a two-vCPU machine's pipe throughput.)
public struct PatternCheck {
    private var expected = PatternSource()
    /// Bytes compared so far: the stream offset of the next byte.
    public private(set) var offset = 0
    /// The stream offset of the first byte that was not the pattern's.
    public private(set) var firstMismatch: Int?

    public init() {}

    /// Compares the next `bytes` of the stream.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let received = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let blockOffset = offset % PatternSource.blockSize
            if blockOffset == 0 { expected.select(offset / PatternSource.blockSize) }
            let length = min(bytes.count - done, PatternSource.blockSize - blockOffset)
            if firstMismatch == nil {
                firstMismatch = expected.block.withUnsafeBytes { block -> Int? in
                    guard let pattern = block.baseAddress,
                          memcmp(received + done, pattern + blockOffset, length) != 0 else { return nil }
                    let index = (0..<length).first { bytes[done + $0] != block[blockOffset + $0] } ?? 0
                    return offset + index
                }
            }
            offset += length
            done += length
        }
    }
}
