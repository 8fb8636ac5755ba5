#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CRelayShims

/// Reading and writing PEM files through memory BIOs, so that file creation (and the
/// private key's mode 0600) stays under our control.
enum PEMFile {
    /// Loads the first certificate of a PEM file; the caller frees it with `X509_free`.
    static func readCertificate(at path: String) throws(TLSSetupError) -> OpaquePointer {
        guard let bio = BIO_new_file(path, "r") else {
            throw TLSSetupError("cannot read \(path): \(OpenSSLError.drain(or: "no such file"))")
        }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw TLSSetupError("\(path) holds no PEM certificate: \(OpenSSLError.drain(or: "unreadable"))")
        }
        return certificate
    }

    /// Loads a PEM private key (refused when others can read the file); the caller frees
    /// it with `EVP_PKEY_free`.
    static func readPrivateKey(at path: String) throws(TLSSetupError) -> OpaquePointer {
        try FilePermissions.requirePrivateKey(path)
        guard let bio = BIO_new_file(path, "r") else {
            throw TLSSetupError("cannot read \(path): \(OpenSSLError.drain(or: "no such file"))")
        }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw TLSSetupError("\(path) holds no PEM private key: \(OpenSSLError.drain(or: "unreadable"))")
        }
        return key
    }

    /// The PEM text of a private key.
    static func encode(privateKey: OpaquePointer) throws(TLSSetupError) -> [UInt8] {
        try withMemoryBIO { bio in PEM_write_bio_PrivateKey(bio, privateKey, nil, nil, 0, nil, nil) == 1 }
    }

    /// The PEM text of a certificate.
    static func encode(certificate: OpaquePointer) throws(TLSSetupError) -> [UInt8] {
        try withMemoryBIO { bio in PEM_write_bio_X509(bio, certificate) == 1 }
    }

    private static func withMemoryBIO(_ write: (OpaquePointer) -> Bool) throws(TLSSetupError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw TLSSetupError("out of memory") }
        defer { BIO_free(bio) }
        guard write(bio) else { throw TLSSetupError("PEM encoding failed: \(OpenSSLError.drain(or: "unknown"))") }
        var data: UnsafeMutablePointer<CChar>?
        let count = CRelayShims_BIO_get_mem_data(bio, &data)
        guard count > 0, let data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: Int(count)))
    }

    /// Writes `bytes` to a new file with `mode` (the file must not exist; no partial file
    /// is left behind on failure).
    static func create(_ path: String, contents bytes: [UInt8], mode: mode_t) throws(TLSSetupError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw TLSSetupError("cannot create \(path): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let closed = close(fd)
        guard written == bytes.count, closed == 0 else {
            unlink(path)
            throw TLSSetupError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
