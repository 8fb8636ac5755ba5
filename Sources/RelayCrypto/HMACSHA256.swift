import COpenSSL
import CRelayShims

/// HMAC-SHA256 over a reused `EVP_MAC_CTX`: keyed once, re-initialised per message.
/// Not thread-safe; one per thread.
public final class HMACSHA256 {
    /// The tag length in bytes.
    public static let tagSize = 32

    nonisolated(unsafe) private static let mac: OpaquePointer = {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { fatalError("OpenSSL has no HMAC") }
        return mac
    }()

    private let context: OpaquePointer

    /// Keys a new HMAC-SHA256 instance; any key length is allowed, as RFC 2104 says.
    public init<Key: Collection>(key: Key) where Key.Element == UInt8 {
        var keyBytes = Array(key)
        context = keyBytes.withUnsafeBytes { Self.makeContext(key: $0) }
        keyBytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }

    /// Keys a new instance from raw bytes; the key is copied into OpenSSL's context.
    init(key: UnsafeRawBufferPointer) {
        context = Self.makeContext(key: key)
    }

    private static func makeContext(key: UnsafeRawBufferPointer) -> OpaquePointer {
        guard let context = EVP_MAC_CTX_new(mac) else { fatalError("EVP_MAC_CTX_new failed") }
        var digest = Array("SHA256".utf8CString)
        var empty: UInt8 = 0
        let ok = digest.withUnsafeMutableBufferPointer { name in
            withUnsafeMutablePointer(to: &empty) { emptyPointer -> Bool in
                var params = [
                    OSSL_PARAM_construct_utf8_string(OSSLParamName.digest, name.baseAddress, 0),
                    OSSL_PARAM_construct_end(),
                ]
                // A zero-length key still needs a non-null pointer.
                return EVP_MAC_CTX_set_params(context, &params) == 1
                    && CRelayShims_EVP_MAC_init(context, key.baseAddress ?? UnsafeRawPointer(emptyPointer), key.count) == 1
            }
        }
        guard ok else { fatalError("HMAC-SHA256 is not available") }
        return context
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// Computes the tag of the concatenation of `parts` into `tag` (32 bytes).
    func authenticate(_ parts: UnsafeRawBufferPointer..., into tag: UnsafeMutableRawPointer) {
        guard CRelayShims_EVP_MAC_init(context, nil, 0) == 1 else { fatalError("EVP_MAC_init failed") }
        for part in parts where part.count > 0 {
            guard CRelayShims_EVP_MAC_update(context, part.baseAddress, part.count) == 1 else {
                fatalError("EVP_MAC_update failed")
            }
        }
        var written = 0
        guard CRelayShims_EVP_MAC_final(context, tag, &written, Self.tagSize) == 1, written == Self.tagSize else {
            fatalError("EVP_MAC_final failed")
        }
    }

    /// Returns the HMAC-SHA256 tag of `message`.
    public func authenticationCode<Message: Collection>(for message: Message) -> [UInt8] where Message.Element == UInt8 {
        let run = { (bytes: UnsafeRawBufferPointer) -> [UInt8] in
            [UInt8](unsafeUninitializedCapacity: Self.tagSize) { buffer, count in
                self.authenticate(bytes, into: buffer.baseAddress!)
                count = Self.tagSize
            }
        }
        if let tag = message.withContiguousStorageIfAvailable({ run(UnsafeRawBufferPointer($0)) }) { return tag }
        return Array(message).withUnsafeBytes(run)
    }
}
