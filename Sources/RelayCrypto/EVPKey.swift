import COpenSSL

/// One `EVP_PKEY` (an X25519 or Ed25519 key), freed on deinit; OpenSSL cleanses the
/// private half when it frees it. The raw-key plumbing both key types share.
final class EVPKey {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// A fresh key of `algorithm` ("X25519", "ED25519") from OpenSSL's CSPRNG.
    static func generate(_ algorithm: String) -> EVPKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            fatalError("OpenSSL has no \(algorithm)")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else {
            fatalError("\(algorithm) key generation failed")
        }
        return EVPKey(owning: key)
    }

    /// A private key of type `type` (`EVP_PKEY_X25519`, `EVP_PKEY_ED25519`) from its 32 raw
    /// bytes; nil when OpenSSL refuses them.
    static func privateKey(type: Int32, raw: UnsafeRawBufferPointer) -> EVPKey? {
        guard raw.count == 32, let base = raw.baseAddress,
              let key = EVP_PKEY_new_raw_private_key(type, nil, base.assumingMemoryBound(to: UInt8.self), raw.count)
        else { return nil }
        return EVPKey(owning: key)
    }

    /// A public key of type `type` from its 32 raw bytes; nil when OpenSSL refuses them.
    static func publicKey(type: Int32, raw: UnsafeRawBufferPointer) -> EVPKey? {
        guard raw.count == 32, let base = raw.baseAddress,
              let key = EVP_PKEY_new_raw_public_key(type, nil, base.assumingMemoryBound(to: UInt8.self), raw.count)
        else { return nil }
        return EVPKey(owning: key)
    }

    /// The 32-byte raw public key.
    func rawPublicKey() -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: 32)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(pointer, &raw, &length) == 1, length == 32 else {
            fatalError("EVP_PKEY_get_raw_public_key failed")
        }
        return raw
    }
}
