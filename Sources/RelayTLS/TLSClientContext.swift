#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CRelayShims

/// How the client decides to trust the relay, in the order of precedence of the docs.
public enum ServerTrust {
    /// Ordinary chain and host-name verification against this CA file (PEM).
    case certificateAuthority(path: String)
    /// The relay's key must have this fingerprint.
    case pinned(KeyFingerprint)
    /// Trust on first use: record the fingerprint the first time, require it after.
    case trustOnFirstUse(KnownServers)
}

/// A client certificate for mutual TLS.
public enum ClientCertificate {
    /// PEM certificate (chain) and key files.
    case pem(certificatePath: String, keyPath: String)
    /// A PKCS#12 bundle (like the original clients' `userdata.p12`) and its password.
    case pkcs12(path: String, password: String)
}

/// Why a TLS connection to the relay was not made; `exitCode` is what the client exits with.
public enum TLSConnectError: Error, CustomStringConvertible {
    /// Could not set up or complete the handshake.
    case handshake(String)
    /// The relay's key is not the one pinned or recorded.
    case identityMismatch(String)

    public var description: String {
        switch self {
        case .handshake(let text), .identityMismatch(let text): text
        }
    }

    /// 3 for an identity mismatch (like SSH's loud refusal), 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case .handshake: 1
        case .identityMismatch: 3
        }
    }
}

/// The client's TLS configuration and the handshake with its trust decision.
public final class TLSClientContext {
    private let context: OpaquePointer
    private let trust: ServerTrust

    public init(trust: ServerTrust, clientCertificate: ClientCertificate?) throws(TLSSetupError) {
        context = try TLSContextBase.make(server: false)
        self.trust = trust
        // Every stored property is set: if this initializer throws from here on, deinit
        // runs and frees the context (freeing it here too would be a double free).
        let protocols = TLSContextBase.applicationProtocolWire
        guard SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count)) == 0 else {
            throw TLSSetupError("cannot set ALPN")
        }
        if case .certificateAuthority(let path) = trust {
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                throw TLSSetupError("cannot load the CA file \(path): \(OpenSSLError.drain(or: "unreadable"))")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        } else {
            // Pinning and TOFU judge the key itself after the handshake.
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        if let clientCertificate { try use(clientCertificate) }
    }

    deinit { SSL_CTX_free(context) }

    private func use(_ certificate: ClientCertificate) throws(TLSSetupError) {
        switch certificate {
        case .pem(let certificatePath, let keyPath):
            guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
                throw TLSSetupError("cannot use the certificate \(certificatePath): \(OpenSSLError.drain(or: "unreadable"))")
            }
            guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1,
                  SSL_CTX_check_private_key(context) == 1
            else {
                throw TLSSetupError("cannot use the key \(keyPath) with \(certificatePath): \(OpenSSLError.drain(or: "unreadable"))")
            }
        case .pkcs12(let path, let password):
            guard let bio = BIO_new_file(path, "rb") else {
                throw TLSSetupError("cannot read \(path): \(OpenSSLError.drain(or: "no such file"))")
            }
            defer { BIO_free(bio) }
            guard let bundle = d2i_PKCS12_bio(bio, nil) else {
                throw TLSSetupError("\(path) is not a PKCS#12 bundle: \(OpenSSLError.drain(or: "unreadable"))")
            }
            defer { PKCS12_free(bundle) }
            var key: OpaquePointer?
            var certificate: OpaquePointer?
            var chain: OpaquePointer?
            var parsed = PKCS12_parse(bundle, password, &key, &certificate, &chain) == 1
            if !parsed, PKCS12_verify_mac(bundle, password, -1) == 1, let legacy = OSSL_PROVIDER_try_load(nil, "legacy", 1) {
                // The password is right but an algorithm is missing: bundles made before
                // OpenSSL 3 (like the original clients' userdata.p12) encrypt certificates
                // with RC2, which OpenSSL 3 keeps in its legacy provider. Only the parse
                // needs it; unloaded after (LeakSanitizer reported it kept to the end).
                defer { OSSL_PROVIDER_unload(legacy) }
                OpenSSLError.clear()
                parsed = PKCS12_parse(bundle, password, &key, &certificate, &chain) == 1
            }
            guard parsed, let key, let certificate else {
                throw TLSSetupError("cannot open \(path) (wrong password?): \(OpenSSLError.drain(or: "unknown"))")
            }
            defer {
                EVP_PKEY_free(key)
                X509_free(certificate)
                if let chain { OPENSSL_sk_pop_free(chain) { X509_free(OpaquePointer($0)) } }
            }
            guard SSL_CTX_use_certificate(context, certificate) == 1, SSL_CTX_use_PrivateKey(context, key) == 1 else {
                throw TLSSetupError("cannot use the certificate in \(path): \(OpenSSLError.drain(or: "unknown"))")
            }
            if let chain {
                for index in 0..<OPENSSL_sk_num(chain) {
                    if let extra = OPENSSL_sk_value(chain, index) {
                        _ = SSL_CTX_ctrl(context, SSL_CTRL_CHAIN_CERT, 1, extra)  // SSL_CTX_add1_chain_cert
                    }
                }
            }
        }
    }

    /// Runs the handshake on a connected *blocking* socket (bounded by `timeout`), checks
    /// ALPN, then applies the trust decision. Returns the stream and, on a first use, a
    /// line to tell the user.
    public func connect(fd: Int32, host: String, port: Int, timeout: Double) throws(TLSConnectError) -> (TLSStream, String?) {
        guard let ssl = SSL_new(context) else { throw .handshake("cannot create a TLS connection") }
        let stream = TLSStream(ssl: ssl, fd: fd, isServer: false)
        _ = SSL_set_fd(ssl, fd)
        let isAddress = host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." })
        if !isAddress { _ = CRelayShims_SSL_set_tlsext_host_name(ssl, host) }
        if case .certificateAuthority = trust {
            let param = SSL_get0_param(ssl)
            if isAddress { _ = X509_VERIFY_PARAM_set1_ip_asc(param, host) } else { _ = SSL_set1_host(ssl, host) }
        }
        Self.setTimeout(fd, timeout)
        defer { Self.setTimeout(fd, 0) }
        OpenSSLError.clear()
        let status = SSL_connect(ssl)
        guard status == 1 else {
            throw .handshake(describeHandshakeFailure(ssl, status, host: host, port: port, timeout: timeout))
        }

        var selected: UnsafePointer<UInt8>?
        var selectedCount: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &selectedCount)
        guard let selected, Array(UnsafeBufferPointer(start: selected, count: Int(selectedCount))) == Array(TLSContextBase.applicationProtocol.utf8) else {
            throw .handshake("the server at \(host):\(port) speaks TLS but not the relay protocol (no ALPN relay/1)")
        }
        return (stream, try judge(stream, server: "\(host):\(port)"))
    }

    private func judge(_ stream: TLSStream, server: String) throws(TLSConnectError) -> String? {
        guard let actual = stream.peerFingerprint else { throw .handshake("the relay presented no certificate") }
        switch trust {
        case .certificateAuthority:
            return nil
        case .pinned(let expected):
            guard actual == expected else {
                throw .identityMismatch("""
                    the relay at \(server) presented key \(actual),
                    but --fingerprint pins \(expected): refusing to connect
                    """)
            }
            return nil
        case .trustOnFirstUse(let known):
            let entry: KnownServers.Entry?
            do { entry = try known.entry(for: server) } catch { throw .handshake("\(error)") }
            guard let entry else {
                do { try known.record(actual, for: server) } catch { throw .handshake("\(error)") }
                return "* first connection to \(server): recorded its key \(actual) in \(known.path)"
            }
            guard entry.fingerprint == actual else {
                throw .identityMismatch("""
                    @@@ WARNING: THE RELAY'S KEY HAS CHANGED @@@
                    The relay at \(server) presented key \(actual),
                    but \(known.path) recorded \(entry.fingerprint) for it.
                    Someone may be intercepting the connection, or the relay got a new identity.
                    If you know the relay's key changed, remove line \(entry.line) of \(known.path)
                    ("\(server) \(entry.fingerprint)") and connect again.
                    """)
            }
            return nil
        }
    }

    private func describeHandshakeFailure(_ ssl: OpaquePointer, _ status: Int32, host: String, port: Int,
                                          timeout: Double) -> String {
        let error = SSL_get_error(ssl, status)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
            // The socket's timeout ran out: nobody answered.
            _ = OpenSSLError.drain(or: "")
            return "TLS handshake with \(host):\(port) failed: no answer within \(timeout) seconds"
        }
        let verify = SSL_get_verify_result(ssl)
        if verify != Int(X509_V_OK) {
            _ = OpenSSLError.drain(or: "")
            return "TLS: the relay's certificate was refused: \(String(cString: X509_verify_cert_error_string(verify)))"
        }
        let reason = OpenSSLError.drain(or: error == SSL_ERROR_SYSCALL ? "the connection was closed" : "handshake failed")
        if reason.contains("no application protocol") {
            return "the server at \(host):\(port) does not speak the relay protocol (ALPN relay/1 refused)"
        }
        if reason.contains("alert") {
            return "TLS handshake with \(host):\(port) failed: \(reason)"
        }
        return "TLS handshake with \(host):\(port) failed (\(reason)): the relay does not seem to speak TLS; "
            + "if it runs with --insecure-plaintext or --legacy, connect with the same flag"
    }

    private static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, size)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, size)
    }
}
