#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CRelayShims

/// The server's TLS identity: a certificate and its private key, given as PEM files or
/// created once (ECDSA P-256, self-signed) in a state directory and reused on every start.
public final class ServerIdentity {
    /// The certificate (`X509 *`), owned.
    let certificate: OpaquePointer
    /// The private key (`EVP_PKEY *`), owned.
    let privateKey: OpaquePointer
    /// The fingerprint clients pin or record.
    public let fingerprint: KeyFingerprint
    /// Where the files are.
    public let certificatePath: String
    public let keyPath: String
    /// True when this start created the identity.
    public let wasCreated: Bool

    static let certificateFileName = "server-cert.pem"
    static let keyFileName = "server-key.pem"

    private init(certificatePath: String, keyPath: String, wasCreated: Bool) throws(TLSSetupError) {
        let certificate = try PEMFile.readCertificate(at: certificatePath)
        let key: OpaquePointer
        do {
            key = try PEMFile.readPrivateKey(at: keyPath)
        } catch {
            X509_free(certificate)
            throw error
        }
        guard X509_check_private_key(certificate, key) == 1 else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw TLSSetupError("the key in \(keyPath) does not belong to the certificate in \(certificatePath)")
        }
        self.certificate = certificate
        privateKey = key
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.wasCreated = wasCreated
        do {
            fingerprint = try KeyFingerprint(certificate: certificate)
        } catch {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw error
        }
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(privateKey)
    }

    /// Loads a certificate and key given on the command line (PEM).
    public static func load(certificatePath: String, keyPath: String) throws(TLSSetupError) -> ServerIdentity {
        try ServerIdentity(certificatePath: certificatePath, keyPath: keyPath, wasCreated: false)
    }

    /// The default state directory: `$XDG_STATE_HOME/relay`, else `~/.local/state/relay`.
    public static func defaultStateDirectory() -> String {
        if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), !state.isEmpty {
            return state + "/relay"
        }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.local/state/relay"
    }

    /// Loads the identity kept in `directory`, creating it (and the directory, mode 0700)
    /// on first use: a fresh P-256 key (file mode 0600) and a self-signed certificate. A
    /// directory others can write, or a key file others can read, is refused.
    public static func loadOrCreate(in directory: String) throws(TLSSetupError) -> ServerIdentity {
        let certificatePath = directory + "/" + certificateFileName
        let keyPath = directory + "/" + keyFileName
        try FilePermissions.requireProtectedDirectory(directory, holding: "the relay's private key")
        let haveCertificate = access(certificatePath, F_OK) == 0
        let haveKey = access(keyPath, F_OK) == 0
        switch (haveCertificate, haveKey) {
        case (true, true):
            return try ServerIdentity(certificatePath: certificatePath, keyPath: keyPath, wasCreated: false)
        case (true, false), (false, true):
            throw TLSSetupError("\(directory) holds only one of \(certificateFileName) and \(keyFileName); "
                + "restore the other, or remove both to create a new identity (clients will see a new fingerprint)")
        case (false, false):
            try makeDirectory(directory)
            try create(certificatePath: certificatePath, keyPath: keyPath)
            return try ServerIdentity(certificatePath: certificatePath, keyPath: keyPath, wasCreated: true)
        }
    }

    private static func makeDirectory(_ path: String) throws(TLSSetupError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw TLSSetupError("cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func create(certificatePath: String, keyPath: String) throws(TLSSetupError) {
        guard let key = CRelayShims_EVP_EC_gen("P-256") else {
            throw TLSSetupError("cannot generate a P-256 key: \(OpenSSLError.drain(or: "unknown"))")
        }
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw TLSSetupError("out of memory") }
        defer { X509_free(certificate) }

        var serial = [UInt8](repeating: 0, count: 16)
        guard CRelayShims_RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw TLSSetupError("no randomness") }
        serial[0] &= 0x7F  // positive
        let serialNumber = BN_bin2bn(serial, Int32(serial.count), nil)
        defer { BN_free(serialNumber) }

        let subject = X509_NAME_new()
        defer { X509_NAME_free(subject) }
        let built = X509_set_version(certificate, 2) == 1
            && BN_to_ASN1_INTEGER(serialNumber, X509_get_serialNumber(certificate)) != nil
            && X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil
            && X509_gmtime_adj(X509_getm_notAfter(certificate), 20 * 365 * 24 * 3600) != nil
            && X509_set_pubkey(certificate, key) == 1
            && X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, "relay-server", -1, -1, 0) == 1
            && X509_set_subject_name(certificate, subject) == 1
            && X509_set_issuer_name(certificate, subject) == 1
            && X509_sign(certificate, key, EVP_sha256()) > 0
        guard built else { throw TLSSetupError("cannot build the certificate: \(OpenSSLError.drain(or: "unknown"))") }

        try PEMFile.create(keyPath, contents: PEMFile.encode(privateKey: key), mode: 0o600)
        do {
            try PEMFile.create(certificatePath, contents: PEMFile.encode(certificate: certificate), mode: 0o644)
        } catch {
            unlink(keyPath)
            throw error
        }
    }
}
