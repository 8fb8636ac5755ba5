import COpenSSL

/// Why an Ed25519 key was refused.
public enum Ed25519Error: Error, Equatable, Sendable {
    /// A raw key was not 32 bytes long; the associated value is the length given.
    case invalidKeyLength(Int)
    /// A private key file is not an unencrypted PKCS#8 PEM Ed25519 key.
    case invalidPrivateKeyFile
}

/// An Ed25519 private key (RFC 8032) held by OpenSSL: a long-term identity key.
/// OpenSSL cleanses it when the instance is freed.
public final class Ed25519PrivateKey {
    /// The length of a raw private key (the RFC 8032 seed) and of a public key in bytes.
    public static let keyByteCount = 32
    /// The length of a signature in bytes.
    public static let signatureByteCount = 64

    let key: EVPKey
    /// The public half.
    public let publicKey: Ed25519PublicKey

    /// Generates a fresh key from OpenSSL's CSPRNG.
    public init() {
        self.key = EVPKey.generate("ED25519")
        publicKey = Ed25519PublicKey(key: key)
    }

    /// Loads a key from its 32-byte RFC 8032 seed (the raw private key).
    public init<Bytes: Collection>(seed: Bytes) throws(Ed25519Error) where Bytes.Element == UInt8 {
        guard seed.count == Self.keyByteCount,
              let key = withContiguousBytes(seed, { EVPKey.privateKey(type: EVP_PKEY_ED25519, raw: $0) })
        else { throw .invalidKeyLength(seed.count) }
        self.key = key
        publicKey = Ed25519PublicKey(key: key)
    }

    /// Takes an `EVP_PKEY` already checked to be Ed25519.
    init(checkedKey key: EVPKey) {
        self.key = key
        publicKey = Ed25519PublicKey(key: key)
    }

    /// The 64-byte Ed25519 signature of `message` (pure Ed25519: no prehash).
    public func signature<Message: Collection>(for message: Message) -> [UInt8] where Message.Element == UInt8 {
        withContiguousBytes(message) { bytes in
            guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            defer { EVP_MD_CTX_free(context) }
            var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
            var length = signature.count
            var empty: UInt8 = 0
            let ok = withUnsafePointer(to: &empty) { nonNull in
                EVP_DigestSignInit(context, nil, nil, nil, key.pointer) == 1
                    && EVP_DigestSign(context, &signature, &length,
                                      bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? nonNull, bytes.count) == 1
            }
            guard ok, length == Self.signatureByteCount else { fatalError("Ed25519 signing failed") }
            return signature
        }
    }
}

/// An Ed25519 public key: verifies signatures.
public final class Ed25519PublicKey {
    private let key: EVPKey
    /// The 32-byte raw public key (idPub).
    public let rawRepresentation: [UInt8]

    /// Loads a public key from its 32 raw bytes.
    public init<Bytes: Collection>(rawRepresentation: Bytes) throws(Ed25519Error) where Bytes.Element == UInt8 {
        guard rawRepresentation.count == Ed25519PrivateKey.keyByteCount,
              let key = withContiguousBytes(rawRepresentation, { EVPKey.publicKey(type: EVP_PKEY_ED25519, raw: $0) })
        else { throw .invalidKeyLength(rawRepresentation.count) }
        self.key = key
        self.rawRepresentation = key.rawPublicKey()
    }

    /// The public half of a private key (OpenSSL verifies with the whole key).
    init(key: EVPKey) {
        self.key = key
        rawRepresentation = key.rawPublicKey()
    }

    /// True when `signature` is a valid Ed25519 signature of `message` under this key.
    public func isValidSignature<Signature: Collection, Message: Collection>(
        _ signature: Signature, for message: Message
    ) -> Bool where Signature.Element == UInt8, Message.Element == UInt8 {
        guard signature.count == Ed25519PrivateKey.signatureByteCount else { return false }
        return withContiguousBytes(signature) { signatureBytes in
            withContiguousBytes(message) { messageBytes in
                guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
                defer { EVP_MD_CTX_free(context) }
                guard EVP_DigestVerifyInit(context, nil, nil, nil, key.pointer) == 1 else {
                    fatalError("EVP_DigestVerifyInit failed for Ed25519")
                }
                var empty: UInt8 = 0
                let verified = withUnsafePointer(to: &empty) { nonNull in
                    EVP_DigestVerify(
                        context, signatureBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), signatureBytes.count,
                        messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? nonNull, messageBytes.count) == 1
                }
                // A failed verification leaves an error on the thread's queue.
                if !verified { ERR_clear_error() }
                return verified
            }
        }
    }
}
