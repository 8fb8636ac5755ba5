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
    /// The handshake did not finish before the connection deadline.
    case timeout(String)

    public var description: String {
        switch self {
        case .handshake(let text), .identityMismatch(let text), .timeout(let text): text
        }
    }

    /// 3 for an identity mismatch (like SSH's loud refusal), 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case .handshake, .timeout: 1
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
            try FilePermissions.requirePrivateKey(keyPath)
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

    /// Runs the handshake on a connected non-blocking socket, finished by `deadline`
    /// (``MonotonicClock`` seconds; `timeout` is only quoted in the message), checks
    /// ALPN, then applies the trust decision. Returns the stream and, on a first use, a
    /// line to tell the user. With a CA, a host name or address that cannot be set for
    /// verification fails closed.
    public func connect(fd: Int32, host: String, port: Int, deadline: Double, timeout: Double)
        throws(TLSConnectError) -> (TLSStream, String?)
    {
        guard let ssl = SSL_new(context) else { throw .handshake("cannot create a TLS connection: \(OpenSSLError.drain(or: "out of memory"))") }
        let stream = TLSStream(ssl: ssl, fd: fd, isServer: false)
        guard SSL_set_fd(ssl, fd) == 1 else { throw .handshake("cannot attach TLS to the socket: \(OpenSSLError.drain(or: "SSL_set_fd failed"))") }
        let numericAddress = Self.numericAddress(host)
        if numericAddress == nil, CRelayShims_SSL_set_tlsext_host_name(ssl, host) != 1 {
            throw .handshake("cannot use '\(host)' as a TLS server name: \(OpenSSLError.drain(or: "refused by OpenSSL"))")
        }
        if case .certificateAuthority = trust {
            let set: Bool
            if let numericAddress {
                set = SSL_get0_param(ssl).map { X509_VERIFY_PARAM_set1_ip_asc($0, numericAddress) == 1 } ?? false
            } else {
                set = SSL_set1_host(ssl, host) == 1
            }
            guard set else {
                throw .handshake("cannot check the relay's certificate against the host '\(host)' "
                    + "(\(OpenSSLError.drain(or: "not a host name or address OpenSSL can verify"))): refusing to connect")
            }
        }
        // The relay's first record header (5 bytes) tells a plaintext relay from a TLS
        // failure; OpenSSL hands it to the message callback as it reads it.
        let capture = RecordHeaderCapture()
        SSL_set_msg_callback(ssl, captureFirstRecordHeader)
        _ = SSL_ctrl(ssl, SSL_CTRL_SET_MSG_CALLBACK_ARG, 0, Unmanaged.passUnretained(capture).toOpaque())
        defer {
            SSL_set_msg_callback(ssl, nil)
            _ = SSL_ctrl(ssl, SSL_CTRL_SET_MSG_CALLBACK_ARG, 0, nil)
        }
        while true {
            OpenSSLError.clear()
            errno = 0
            let status = SSL_connect(ssl)
            if status == 1 { break }
            let savedErrno = errno
            let error = SSL_get_error(ssl, status)
            let events: Int16
            switch error {
            case SSL_ERROR_WANT_READ: events = Int16(POLLIN)
            case SSL_ERROR_WANT_WRITE: events = Int16(POLLOUT)
            default:
                throw .handshake(describeHandshakeFailure(ssl, error, errno: savedErrno, firstBytes: capture.header,
                                                          host: host, port: port))
            }
            guard Self.wait(fd, events, until: deadline) else {
                _ = OpenSSLError.drain(or: "")
                throw .timeout("TLS handshake with \(host):\(port) failed: no answer within \(timeout) seconds (--connect-timeout)")
            }
        }

        var selected: UnsafePointer<UInt8>?
        var selectedCount: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &selectedCount)
        guard let selected, Array(UnsafeBufferPointer(start: selected, count: Int(selectedCount))) == Array(TLSContextBase.applicationProtocol.utf8) else {
            throw .handshake("the server at \(host):\(port) speaks TLS but not the relay protocol (no ALPN relay/1)")
        }
        return (stream, try judge(stream, server: "\(host):\(port)"))
    }

    /// The canonical text of `host` when it is a numeric IPv4 or IPv6 address in any form
    /// `getaddrinfo` accepts (`127.1` is `127.0.0.1`), else nil (a host name).
    static func numericAddress(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result, let address = first.pointee.ai_addr else {
            return nil
        }
        defer { freeaddrinfo(result) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let converted: UnsafePointer<CChar>?
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            converted = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                var value = pointer.pointee.sin_addr
                return inet_ntop(AF_INET, &value, &text, socklen_t(text.count))
            }
        case AF_INET6:
            converted = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                var value = pointer.pointee.sin6_addr
                return inet_ntop(AF_INET6, &value, &text, socklen_t(text.count))
            }
        default:
            converted = nil
        }
        guard converted != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Waits for `events` on `fd` until `deadline`; false when the time ran out.
    static func wait(_ fd: Int32, _ events: Int16, until deadline: Double) -> Bool {
        while true {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let status = poll(&entry, 1, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if status > 0 { return true }
            if status < 0, errno != EINTR { return true }  // let the next call report the error
        }
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

    private func describeHandshakeFailure(_ ssl: OpaquePointer, _ error: Int32, errno savedErrno: Int32,
                                          firstBytes: [UInt8]?, host: String, port: Int) -> String {
        let verify = SSL_get_verify_result(ssl)
        if verify != Int(X509_V_OK) {
            _ = OpenSSLError.drain(or: "")
            return "TLS: the relay's certificate was refused: \(String(cString: X509_verify_cert_error_string(verify)))"
        }
        let reason = OpenSSLError.drain(or: "")
        if reason.contains("no application protocol") {
            return "the server at \(host):\(port) does not speak the relay protocol (ALPN relay/1 refused)"
        }
        if let firstBytes, let first = firstBytes.first, !(0x14...0x17).contains(first) {
            // The answer is not a TLS record (TLS records start with 0x14-0x17).
            if Self.isPlaintextRelayFrame(firstBytes) {
                return "the relay at \(host):\(port) answered in plaintext, not TLS: it seems to run with "
                    + "--insecure-plaintext (warning: that mode sends the session key in clear, so anyone on the path "
                    + "can read every message; connect with --insecure-plaintext only if you accept that)"
            }
            let hex = firstBytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            return "the server at \(host):\(port) answered with bytes that are not TLS (\(hex.joined(separator: " "))); "
                + "it is not a TLS relay"
        }
        if savedErrno == ECONNRESET {
            return "the connection to \(host):\(port) was reset during the TLS handshake"
        }
        if error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN || reason.contains("unexpected eof") {
            if savedErrno != 0, savedErrno != ECONNRESET {
                return "the connection to \(host):\(port) failed during the TLS handshake: \(String(cString: strerror(savedErrno)))"
            }
            return "the relay at \(host):\(port) closed the connection during the TLS handshake"
        }
        return "TLS handshake with \(host):\(port) failed: \(reason.isEmpty ? "unknown error" : reason)"
    }

    /// True when `bytes` start like a relay v1 frame from a server (a plaintext relay's
    /// ERROR, say): a length below 16 MiB and a server-to-client frame type.
    static func isPlaintextRelayFrame(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 5, bytes[0] == 0 else { return false }
        let length = UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        return length >= 1 && [0x02, 0x03, 0x04, 0x10, 0x11, 0x20, 0x21, 0x7F].contains(bytes[4])
    }
}

/// Where the message callback leaves the first record header the relay sent.
private final class RecordHeaderCapture {
    var header: [UInt8]?
}

/// `SSL_set_msg_callback`: keeps the first incoming record header (`SSL3_RT_HEADER`).
private func captureFirstRecordHeader(
    _ writing: Int32, _ version: Int32, _ contentType: Int32, _ bytes: UnsafeRawPointer?, _ count: Int,
    _ ssl: OpaquePointer?, _ argument: UnsafeMutableRawPointer?
) {
    guard writing == 0, contentType == SSL3_RT_HEADER, let bytes, let argument else { return }
    let capture = Unmanaged<RecordHeaderCapture>.fromOpaque(argument).takeUnretainedValue()
    if capture.header == nil { capture.header = Array(UnsafeRawBufferPointer(start: bytes, count: count)) }
}

/// Seconds on a clock that never jumps (`CLOCK_MONOTONIC`), for deadlines.
public enum MonotonicClock {
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }
}
