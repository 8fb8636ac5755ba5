import CRelayShims

/// Hands out fresh 16-byte IVs sliced from bulk draws of OpenSSL's CSPRNG.
///
/// One `RAND_bytes` call per IV costs hundreds of nanoseconds; one 4 KiB draw per 256
/// IVs costs a few nanoseconds per IV. Each byte is handed out once and the pool is
/// wiped as it is consumed, so IVs stay unpredictable and single-use.
final class RandomIVSource {
    static let ivSize = 16
    private static let poolSize = 4096

    private let pool = SecureBytes(count: RandomIVSource.poolSize)
    private var offset = RandomIVSource.poolSize

    /// Writes the next IV to `destination` (16 bytes).
    func nextIV(into destination: UnsafeMutableRawPointer) {
        if offset == Self.poolSize { refill() }
        let source = pool.pointer + offset
        destination.copyMemory(from: source, byteCount: Self.ivSize)
        source.initializeMemory(as: UInt8.self, repeating: 0, count: Self.ivSize)
        offset += Self.ivSize
    }

    private func refill() {
        guard CRelayShims_RAND_bytes(pool.pointer, Int32(Self.poolSize)) == 1 else {
            // No safe way to go on without a working CSPRNG.
            fatalError("OpenSSL's RAND_bytes failed: no cryptographic randomness available")
        }
        offset = 0
    }
}

/// Random bytes for keys, drawn from OpenSSL's private CSPRNG instance.
public enum SecureRandom {
    /// Fills `buffer` with cryptographically secure random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard CRelayShims_RAND_priv_bytes(base, Int32(buffer.count)) == 1 else {
            fatalError("OpenSSL's RAND_priv_bytes failed: no cryptographic randomness available")
        }
    }

    /// Returns `count` cryptographically secure random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { fill($0) }
        return result
    }
}
