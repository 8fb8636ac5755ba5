#if canImport(Glibc)
import Glibc
#endif
import RelayCrypto
import RelayTLS

/// The client's long-term Ed25519 identity (PROTOCOL.md section 7.4): `identity_ed25519`
/// (PKCS#8 PEM) in the state directory, made on first use with the directory 0700 and the
/// file 0600; a key file that group or others can read is refused, as ssh does.
public enum IdentityStore {
    /// `$XDG_STATE_HOME/relay`, else `~/.local/state/relay`.
    public static func defaultDirectory() -> String {
        if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), !state.isEmpty {
            return state + "/relay"
        }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.local/state/relay"
    }

    /// Loads the key in `directory`, or makes and stores one.
    public static func loadOrCreate(directory: String = defaultDirectory()) throws(TLSSetupError) -> Ed25519PrivateKey {
        let path = directory + "/identity_ed25519"
        if access(path, F_OK) == 0 {
            try FilePermissions.requirePrivateKey(path, what: "identity key")
            guard let pem = try RecordFile(path: path, what: "identity key").contents(),
                  let key = try? Ed25519PrivateKey(pemRepresentation: pem)
            else { throw TLSSetupError("\(path) is not an Ed25519 private key (PKCS#8 PEM); move it away to make a new identity") }
            return key
        }
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw TLSSetupError("cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        try FilePermissions.requireProtectedDirectory(directory, holding: "the identity key")
        let key = Ed25519PrivateKey()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // Another client made it meanwhile: use that one.
            if errno == EEXIST { return try loadOrCreate(directory: directory) }
            throw TLSSetupError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let written = key.withPEMRepresentation { pem in write(fd, pem.baseAddress, pem.count) == pem.count }
        let closed = close(fd) == 0
        guard written, closed else {
            unlink(path)
            throw TLSSetupError("cannot write \(path)")
        }
        return key
    }
}
