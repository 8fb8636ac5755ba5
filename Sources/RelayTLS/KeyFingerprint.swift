import COpenSSL

/// The identity of a TLS key: SHA-256 over the DER-encoded SubjectPublicKeyInfo of a
/// certificate, written `sha256:` and 64 lowercase hex digits. It names the key, not the
/// certificate, so a renewed certificate for the same key keeps its fingerprint.
public struct KeyFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let digest: [UInt8]

    public init(digest: [UInt8]) { self.digest = digest }

    /// Parses `sha256:HEX` (64 hex digits, either case).
    public init?(parsing text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.dropFirst("sha256:".count).utf8)
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < hex.count {
            guard let high = Self.nibble(hex[index]), let low = Self.nibble(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        digest = bytes
    }

    /// The fingerprint of a certificate's public key (`X509 *`).
    init(certificate: OpaquePointer) throws(TLSSetupError) {
        guard let key = X509_get0_pubkey(certificate) else { throw TLSSetupError("the certificate has no public key") }
        try self.init(publicKey: key)
    }

    /// The fingerprint of a public key (`EVP_PKEY *`).
    init(publicKey: OpaquePointer) throws(TLSSetupError) {
        var der: UnsafeMutablePointer<UInt8>?
        let count = i2d_PUBKEY(publicKey, &der)
        guard count > 0, let der else { throw TLSSetupError("cannot encode the public key: \(OpenSSLError.drain(or: "i2d_PUBKEY failed"))") }
        defer { CRYPTO_free(der, #fileID, #line) }
        var digest = [UInt8](repeating: 0, count: 32)
        var digestCount: UInt32 = 0
        guard EVP_Digest(der, Int(count), &digest, &digestCount, EVP_sha256(), nil) == 1, digestCount == 32 else {
            throw TLSSetupError("SHA-256 failed")
        }
        self.digest = digest
    }

    /// `sha256:` and the lowercase hex digest.
    public var description: String {
        let table = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in digest {
            hex.append(table[Int(byte >> 4)])
            hex.append(table[Int(byte & 0x0F)])
        }
        return "sha256:" + String(decoding: hex, as: UTF8.self)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
