/// The identity record's content and the peer fingerprint (PROTOCOL.md section 7.4):
/// `content = idPub[32] | Ed25519(identity key, "relay e2e v1 identity" | role | T)[64]`.
public enum E2EIdentity {
    /// The length of an identity record's content.
    public static let contentCount = 32 + 64

    static let label = Array("relay e2e v1 identity".utf8)

    /// The message a side signs: "relay e2e v1 identity" | the signer's role byte | T.
    public static func signedMessage(role: E2ERole, transcript: [UInt8]) -> [UInt8] {
        label + [role.byte] + transcript
    }

    /// This side's identity content, to send as its record seq 0 (kind identity).
    public static func content(identityKey: Ed25519PrivateKey, role: E2ERole, transcript: [UInt8]) -> [UInt8] {
        identityKey.publicKey.rawRepresentation
            + identityKey.signature(for: signedMessage(role: role, transcript: transcript))
    }

    /// Checks the peer's identity content, signed in `signerRole` (the peer's role) over
    /// `transcript`; returns the peer's identity key. Content that is not exactly 96 bytes,
    /// or a signature that does not verify, throws ``E2EIdentityError/verificationFailed``.
    public static func verify<Content: Collection>(
        _ content: Content, signerRole: E2ERole, transcript: [UInt8]
    ) throws(E2EIdentityError) -> Ed25519PublicKey where Content.Element == UInt8 {
        let bytes = Array(content)
        guard bytes.count == contentCount,
              let key = try? Ed25519PublicKey(rawRepresentation: bytes[..<32]),
              key.isValidSignature(bytes[32...], for: signedMessage(role: signerRole, transcript: transcript))
        else { throw .verificationFailed }
        return key
    }

    /// "sha256:" and the lowercase hex SHA-256 of the 32-byte idPub.
    public static func fingerprint<Key: Collection>(identityPublicKey: Key) -> String where Key.Element == UInt8 {
        "sha256:" + hex(SHA256Hash.hash(identityPublicKey))
    }

    /// Lowercase hex.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Why an identity record was refused: it ends the session (exit status 3).
public enum E2EIdentityError: Error, Equatable, Sendable {
    /// Not `idPub[32] | signature[64]`, or the signature does not verify.
    case verificationFailed
}

extension Ed25519PublicKey {
    /// The peer fingerprint of section 7.4, "sha256:HEX".
    public var fingerprint: String { E2EIdentity.fingerprint(identityPublicKey: rawRepresentation) }
}
