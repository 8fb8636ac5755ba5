import COpenSSL

/// SHA-256 in one call (`EVP_Digest`). Named so as not to clash with swift-crypto's
/// `SHA256` in code that imports both.
public enum SHA256Hash {
    /// The digest length in bytes.
    public static let byteCount = 32

    /// Fetched once per process, as the ciphers do.
    nonisolated(unsafe) private static let digest: OpaquePointer = {
        guard let digest = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
        return digest
    }()

    /// The SHA-256 digest of `data`.
    public static func hash<Data: Collection>(_ data: Data) -> [UInt8] where Data.Element == UInt8 {
        if let digest = data.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return digest }
        return Array(data).withUnsafeBytes { hash($0) }
    }

    /// The SHA-256 digest of contiguous bytes.
    public static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: byteCount)
        var nonNull: UInt8 = 0
        let ok = withUnsafeMutablePointer(to: &nonNull) { empty in
            digest.withUnsafeMutableBufferPointer { output -> Bool in
                var written: UInt32 = 0
                return EVP_Digest(data.baseAddress ?? UnsafeRawPointer(empty), data.count, output.baseAddress,
                                  &written, Self.digest, nil) == 1 && written == UInt32(byteCount)
            }
        }
        guard ok else { fatalError("EVP_Digest(SHA256) failed") }
        return digest
    }
}
