import COpenSSL
import CRelayShims

/// The identity key file (PROTOCOL.md section 7.4): the private key as unencrypted
/// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
extension Ed25519PrivateKey {
    /// Loads a key from PKCS#8 PEM bytes. Encrypted keys (no passphrase is ever asked
    /// for), other key types and anything unreadable throw ``Ed25519Error/invalidPrivateKeyFile``.
    public convenience init<PEM: Collection>(pemRepresentation pem: PEM) throws(Ed25519Error) where PEM.Element == UInt8 {
        let loaded = withContiguousBytes(pem) { bytes -> EVPKey? in
            guard let base = bytes.baseAddress, bytes.count > 0, bytes.count <= Int(Int32.max),
                  let bio = BIO_new_mem_buf(base, Int32(bytes.count))
            else { return nil }
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
        ERR_clear_error()
        guard let loaded else { throw .invalidPrivateKeyFile }
        self.init(checkedKey: loaded)
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
