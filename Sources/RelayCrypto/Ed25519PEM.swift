import COpenSSL
import CRelayShims

/// The identity key file (PROTOCOL.md section 7.4): the private key as unencrypted
/// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
extension Ed25519PrivateKey {
    /// Loads a key from PKCS#8 PEM bytes: version 0 (RFC 8410, what OpenSSL writes) or
    /// version 1 with the public key (RFC 5958, without attributes), whose public key must
    /// match the private one. Encrypted keys (no passphrase is ever asked for), other key
    /// types and anything unreadable throw ``Ed25519Error/invalidPrivateKeyFile``.
    public convenience init<PEM: Collection>(pemRepresentation pem: PEM) throws(Ed25519Error) where PEM.Element == UInt8 {
        let loaded = withContiguousBytes(pem) { bytes -> EVPKey? in
            guard bytes.count > 0, bytes.count <= Int(Int32.max) else { return nil }
            return Self.readPKCS8(bytes) ?? Self.readOneAsymmetricKey(bytes)
        }
        ERR_clear_error()
        guard let loaded else { throw .invalidPrivateKeyFile }
        self.init(checkedKey: loaded)
    }

    /// A PKCS#8 private key through `PEM_read_bio_PrivateKey`, if it is Ed25519.
    private static func readPKCS8(_ bytes: UnsafeRawBufferPointer) -> EVPKey? {
        guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
        defer { BIO_free(bio) }
        // A callback that gives no passphrase, so that an encrypted key fails instead of
        // OpenSSL prompting on the terminal.
        let noPassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
            _, _, _, _ in -1
        }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil) else { return nil }
        let owned = EVPKey(owning: key)
        return EVP_PKEY_is_a(key, "ED25519") == 1 ? owned : nil
    }

    /// The DER of an Ed25519 OneAsymmetricKey version 1 (v2 of PKCS#8) with the public
    /// key and no attributes, which OpenSSL before 3.5 cannot read: DER is canonical, so
    /// it is exactly these bytes around the seed and the public key.
    private static let oneAsymmetricKeyPrefix: [UInt8] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
    private static let oneAsymmetricKeyPublicKeyTag: [UInt8] = [0x81, 0x21, 0x00]

    /// A "PRIVATE KEY" PEM block holding that exact form: the key from its seed, refused
    /// unless the public key it carries is the one the seed gives.
    private static func readOneAsymmetricKey(_ bytes: UnsafeRawBufferPointer) -> EVPKey? {
        guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
        defer { BIO_free(bio) }
        var name: UnsafeMutablePointer<CChar>?
        var header: UnsafeMutablePointer<CChar>?
        var data: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard PEM_read_bio(bio, &name, &header, &data, &length) == 1 else { return nil }
        defer {
            CRelayShims_OPENSSL_free(name)
            CRelayShims_OPENSSL_free(header)
            CRelayShims_OPENSSL_clear_free(data, length)
        }
        let prefix = oneAsymmetricKeyPrefix
        let tag = oneAsymmetricKeyPublicKeyTag
        guard let name, String(cString: name) == "PRIVATE KEY", let header, header.pointee == 0, let data,
              length == prefix.count + 32 + tag.count + 32
        else { return nil }
        let der = UnsafeRawBufferPointer(start: data, count: length)
        let seedStart = prefix.count
        let tagStart = seedStart + 32
        let publicStart = tagStart + tag.count
        guard der[..<seedStart].elementsEqual(prefix), der[tagStart..<publicStart].elementsEqual(tag),
              let key = EVPKey.privateKey(type: EVP_PKEY_ED25519, raw: UnsafeRawBufferPointer(rebasing: der[seedStart..<tagStart])),
              key.rawPublicKey().elementsEqual(der[publicStart...])
        else { return nil }
        return key
    }

    /// Calls `body` with the key as unencrypted PKCS#8 PEM, in OpenSSL memory that is
    /// cleansed afterwards: write it to the key file from inside `body`.
    public func withPEMRepresentation<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new failed: out of memory") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) == 1 else {
            fatalError("PEM_write_bio_PrivateKey failed for an Ed25519 key")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = CRelayShims_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { fatalError("BIO_get_mem_data gave no PEM") }
        defer { OPENSSL_cleanse(data, Int(length)) }
        return try body(UnsafeRawBufferPointer(start: data, count: Int(length)))
    }
}
