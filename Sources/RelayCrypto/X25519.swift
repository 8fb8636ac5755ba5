import COpenSSL

/// Why an X25519 key or key agreement was refused.
public enum X25519Error: Error, Equatable, Sendable {
    /// A key was not 32 bytes long; the associated value is the length given.
    case invalidKeyLength(Int)
    /// The shared secret is all zeros: the peer's public key is a small-order point
    /// (RFC 7748 section 6.1). The agreement must be aborted.
    case allZeroSharedSecret
}

/// An X25519 private key (RFC 7748) held by OpenSSL, with its public key. Use one per
/// agreement; the private key is cleansed when the instance is freed.
public final class X25519PrivateKey {
    /// The length of private keys, public keys and shared secrets in bytes.
    public static let byteCount = 32

    private let key: EVPKey
    /// The 32-byte public key (RFC 7748 u-coordinate), to send to the peer.
    public let publicKey: [UInt8]

    /// Generates a fresh key pair from OpenSSL's CSPRNG.
    public init() {
        key = EVPKey.generate("X25519")
        publicKey = key.rawPublicKey()
    }

    /// Loads a private key from its 32 raw bytes (RFC 7748 form, clamped on use): for
    /// known-answer tests.
    public init<Bytes: Collection>(rawRepresentation: Bytes) throws(X25519Error) where Bytes.Element == UInt8 {
        guard rawRepresentation.count == Self.byteCount else { throw .invalidKeyLength(rawRepresentation.count) }
        guard let key = withContiguousBytes(rawRepresentation, { EVPKey.privateKey(type: EVP_PKEY_X25519, raw: $0) })
        else { throw .invalidKeyLength(rawRepresentation.count) }
        self.key = key
        publicKey = key.rawPublicKey()
    }

    /// X25519(own private key, `peerPublicKey`). Throws ``X25519Error/allZeroSharedSecret``
    /// for a small-order public key: the all-zero output is refused, compared in constant time.
    public func sharedSecret<Bytes: Collection>(with peerPublicKey: Bytes) throws(X25519Error) -> X25519SharedSecret
    where Bytes.Element == UInt8 {
        guard peerPublicKey.count == Self.byteCount else { throw .invalidKeyLength(peerPublicKey.count) }
        guard let peer = withContiguousBytes(peerPublicKey, { EVPKey.publicKey(type: EVP_PKEY_X25519, raw: $0) })
        else { throw .invalidKeyLength(peerPublicKey.count) }
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
            fatalError("EVP_PKEY_CTX_new_from_pkey failed: out of memory")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peer.pointer) == 1 else {
            fatalError("X25519 EVP_PKEY_derive_init/set_peer failed")
        }
        let secret = SecureBytes(count: Self.byteCount)
        var length = Self.byteCount
        // OpenSSL itself fails the derivation when the result is all zeros; both that and
        // a zero result that got through are the same refusal.
        guard EVP_PKEY_derive(context, secret.pointer.assumingMemoryBound(to: UInt8.self), &length) == 1,
              length == Self.byteCount
        else {
            ERR_clear_error()
            throw .allZeroSharedSecret
        }
        let zeros = [UInt8](repeating: 0, count: Self.byteCount)
        guard !zeros.withUnsafeBytes({ ConstantTime.equal(secret.pointer, $0.baseAddress!, count: Self.byteCount) }) else {
            throw .allZeroSharedSecret
        }
        return X25519SharedSecret(secret)
    }
}

/// An X25519 shared secret (Z), kept in one buffer that is wiped on deinit.
public final class X25519SharedSecret {
    let bytes: SecureBytes

    init(_ bytes: SecureBytes) {
        self.bytes = bytes
    }

    /// Calls `body` with the 32 secret bytes; do not let them escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// Overwrites the secret with zeros now (deinit does it too).
    public func wipe() {
        bytes.wipe()
    }
}
