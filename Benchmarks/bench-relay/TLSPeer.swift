#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CRelayShims

/// The client side of the TLS path: TLS 1.3 over a blocking socket, straight on OpenSSL
/// (not RelayTLS, so the harness measures the relay's TLS code and not its own), ALPN
/// `relay/1`, and the relay's key pinned to the fingerprint it printed
/// (`fingerprint sha256:HEX` on its standard output). The client offers OpenSSL's default
/// TLS 1.3 suites in OpenSSL's default order (AES-256-GCM first), as the project's client
/// and most clients do, so the suite used is the relay's choice.
final class TLSPeerContext: @unchecked Sendable {
    let context: OpaquePointer

    static let shared: TLSPeerContext = {
        do { return try TLSPeerContext() } catch { fatalError("bench-relay: \(error)") }
    }()

    init() throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw BenchError("SSL_CTX_new failed") }
        self.context = context
        guard CRelayShims_SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1 else {
            throw BenchError("this OpenSSL cannot do TLS 1.3")
        }
        let alpn: [UInt8] = [7] + Array("relay/1".utf8)
        guard SSL_CTX_set_alpn_protos(context, alpn, UInt32(alpn.count)) == 0 else { throw BenchError("cannot set ALPN") }
        // Trust is decided by the pinned fingerprint after the handshake.
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        // Configured like the relay's side (TLSServerContext): read-ahead into a 60 KiB
        // record buffer (one read(2) for several records, not two per record).
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        SSL_CTX_set_default_read_buffer_len(context, 60 * 1024)
    }

    deinit { SSL_CTX_free(context) }
}

/// One TLS connection of a peer. A session is used by one thread at a time (the
/// scenarios write a peer from one thread and read it from one thread, never both at
/// once on the same peer with TLS 1.3 traffic flowing back).
final class TLSPeerSession: @unchecked Sendable {
    let ssl: OpaquePointer
    let fd: Int32

    /// Connects TLS over the connected blocking socket `fd` and checks the relay's key.
    init(fd: Int32, pinned fingerprint: [UInt8]) throws {
        guard let ssl = SSL_new(TLSPeerContext.shared.context) else { throw BenchError("SSL_new failed") }
        self.ssl = ssl
        self.fd = fd
        guard SSL_set_fd(ssl, fd) == 1 else { throw BenchError("SSL_set_fd failed") }
        let status = SSL_connect(ssl)
        guard status == 1 else { throw BenchError("TLS handshake failed: \(Self.errorText(ssl, status))") }
        guard let certificate = SSL_get1_peer_certificate(ssl) else { throw BenchError("the relay sent no certificate") }
        defer { X509_free(certificate) }
        guard Self.keyFingerprint(certificate) == fingerprint else {
            throw BenchError("the relay's key does not have the fingerprint it printed")
        }
    }

    deinit { SSL_free(ssl) }

    /// The negotiated suite, e.g. `TLS_AES_128_GCM_SHA256`.
    var cipherSuite: String {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "?" }
        return String(cString: name)
    }

    /// Writes every byte; more than a record goes out corked, like the relay's writes
    /// (TLSStream), so the records leave in full-sized segments.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        let corks = bytes.count > 16 * 1024
        if corks { setCork(true) }
        defer { if corks { setCork(false) } }
        var offset = 0
        while offset < bytes.count {
            var written = 0
            let status = SSL_write_ex(ssl, bytes.baseAddress! + offset, bytes.count - offset, &written)
            guard status == 1 else { throw BenchError("SSL_write: \(Self.errorText(ssl, status))") }
            offset += written
        }
    }

    private func setCork(_ on: Bool) {
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads what is there (at least one byte, at most one record); throws at end of
    /// stream or timeout.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            var count = 0
            ERR_clear_error()
            let status = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
            if status == 1 { return count }
            let error = SSL_get_error(ssl, status)
            if error == SSL_ERROR_ZERO_RETURN { throw BenchError("the connection closed early") }
            if error == SSL_ERROR_SYSCALL, errno == EINTR { continue }
            if error == SSL_ERROR_SYSCALL || error == SSL_ERROR_WANT_READ, errno == EAGAIN || errno == EWOULDBLOCK {
                throw BenchError("no data for \(PeerSocket.readTimeout) s: the path is stuck")
            }
            throw BenchError("SSL_read: \(Self.errorText(ssl, status))")
        }
    }

    private static func errorText(_ ssl: OpaquePointer, _ status: Int32) -> String {
        let code = SSL_get_error(ssl, status)
        var text = "SSL error \(code)"
        let queued = ERR_get_error()
        if queued != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(queued, &buffer, buffer.count)
            text += ": " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else if code == SSL_ERROR_SYSCALL {
            text += ": \(String(cString: strerror(errno)))"
        }
        return text
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo, as relay-server prints it.
    static func keyFingerprint(_ certificate: OpaquePointer) -> [UInt8]? {
        guard let key = X509_get0_pubkey(certificate) else { return nil }
        var der: UnsafeMutablePointer<UInt8>?
        let count = i2d_PUBKEY(key, &der)
        guard count > 0, let der else { return nil }
        defer { CRelayShims_OPENSSL_free(der) }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_Digest(der, Int(count), &digest, &length, EVP_sha256(), nil) == 1, length == 32 else { return nil }
        return digest
    }

    /// `sha256:HEX` (relay-server's `fingerprint` line) as bytes.
    static func parseFingerprint(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.dropFirst(7).utf8)
        guard hex.count == 64 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
