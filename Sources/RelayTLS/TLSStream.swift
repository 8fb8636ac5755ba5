#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import RelayIO

/// A ``ByteStream`` over an OpenSSL connection on a non-blocking socket.
///
/// Reads drain records until the caller's buffer is full or the socket has nothing
/// more; what OpenSSL still holds is reported by `hasBufferedInput` so the reactor reads
/// again without waiting for the socket. Writes use partial writes and a moving write
/// buffer, so a queue may retry a write from a different address after WANT_WRITE.
public final class TLSStream: ByteStream {
    public let fd: Int32
    let ssl: OpaquePointer
    /// A server stream checks the first byte: a TLS connection starts with a handshake
    /// record (0x16); anything else is a plaintext client, told so in plaintext.
    private var mustCheckFirstByte: Bool

    init(ssl: OpaquePointer, fd: Int32, isServer: Bool) {
        self.ssl = ssl
        self.fd = fd
        mustCheckFirstByte = isServer
    }

    private static let handshakeRecordType: UInt8 = 0x16

    deinit { SSL_free(ssl) }

    /// True once the handshake has completed.
    public var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Decrypted bytes not yet returned, or (with read-ahead) raw bytes of records not
    /// yet processed: either way the socket will not signal them again. Not after a read
    /// that stopped because OpenSSL wanted the socket: what it holds then is at most part
    /// of a record, and the socket signals the rest (reading again would only find EAGAIN).
    public var hasBufferedInput: Bool { !awaitsSocket && SSL_has_pending(ssl) == 1 }

    /// Set when the last read stopped at WANT_READ or WANT_WRITE.
    private var awaitsSocket = false

    public var isEstablished: Bool { isHandshakeComplete }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult {
        if mustCheckFirstByte {
            var first: UInt8 = 0
            let peeked = recv(fd, &first, 1, Int32(MSG_PEEK))
            if peeked < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
            if peeked == 1 {
                mustCheckFirstByte = false
                if first != Self.handshakeRecordType { throw .notTLS }
            }
            // 0 (end of input) and errors are left to OpenSSL to report.
        }
        awaitsSocket = false
        var total = 0
        while total < buffer.count {
            OpenSSLError.clear()
            var count = 0
            let status = SSL_read_ex(ssl, buffer.baseAddress! + total, buffer.count - total, &count)
            if status == 1 {
                total += count
                continue
            }
            switch SSL_get_error(ssl, status) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                awaitsSocket = true
                return total > 0 ? .processed(total) : .wouldBlock
            case SSL_ERROR_ZERO_RETURN:
                return .processed(total)  // close_notify: end of input after what was read
            default:
                if total > 0 { return .processed(total) }  // report the error on the next call
                throw failure(status: status)
            }
        }
        return .processed(total)
    }

    /// Writes record after record until the vectors are written or the socket is full:
    /// with partial writes, one `SSL_write_ex` sends one record (16 KiB), so stopping after
    /// the first would cost a wake-up per record. After WANT_WRITE, the record OpenSSL
    /// holds is not counted: the queue offers the same bytes again (from wherever they
    /// are now; the write buffer may move).
    public func write(_ vectors: UnsafeBufferPointer<iovec>) throws(IOError) -> IOResult {
        var requested = 0
        for vector in vectors { requested += vector.iov_len }
        // More than a record: cork the socket while the records go out, so the kernel
        // sends them in full-sized segments instead of one segment per 16 KiB record
        // (a quarter of the packets to transmit, acknowledge and wake the receiver for).
        // Uncorking pushes the rest at once, so nothing waits.
        let corks = requested > Self.recordSize
        if corks { setCork(true) }
        defer { if corks { setCork(false) } }
        var total = 0
        for vector in vectors where vector.iov_len > 0 {
            var offset = 0
            while offset < vector.iov_len {
                OpenSSLError.clear()
                var count = 0
                let status = SSL_write_ex(ssl, vector.iov_base! + offset, vector.iov_len - offset, &count)
                if status == 1 {
                    offset += count
                    total += count
                    continue
                }
                switch SSL_get_error(ssl, status) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    return total > 0 ? .processed(total) : .wouldBlock
                default:
                    throw failure(status: status)
                }
            }
        }
        return .processed(total)
    }

    /// The largest TLS record's plaintext.
    static let recordSize = 16 * 1024

    private func setCork(_ on: Bool) {
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    public func closeWrite() {
        OpenSSLError.clear()
        if isHandshakeComplete { _ = SSL_shutdown(ssl) }
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    private func failure(status: Int32) -> IOError {
        if SSL_get_error(ssl, status) == SSL_ERROR_SYSCALL, errno != 0 {
            return .system(SystemCallError(call: "TLS", errno: errno))
        }
        return .tls(OpenSSLError.drain(or: "connection closed during the TLS exchange"))
    }

    /// The names the peer's verified certificate carries: its subject common name and its
    /// DNS subject alternative names. Empty without a verified client certificate.
    public var verifiedPeerNames: [String] {
        guard SSL_get_verify_result(ssl) == Int(X509_V_OK), let certificate = SSL_get1_peer_certificate(ssl) else {
            return []
        }
        defer { X509_free(certificate) }
        return CertificateNames.of(certificate)
    }

    /// The fingerprint of the peer's key, if it presented a certificate.
    public var peerFingerprint: KeyFingerprint? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        return try? KeyFingerprint(certificate: certificate)
    }
}

/// The names a certificate is issued to.
enum CertificateNames {
    /// The subject common names and the DNS subject alternative names.
    static func of(_ certificate: OpaquePointer) -> [String] {
        var names: [String] = []
        if let subject = X509_get_subject_name(certificate) {
            var index: Int32 = -1
            while true {
                index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)
                if index < 0 { break }
                if let entry = X509_NAME_get_entry(subject, index), let text = string(X509_NAME_ENTRY_get_data(entry)) {
                    names.append(text)
                }
            }
        }
        if let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) {
            let stack = OpaquePointer(raw)
            for index in 0..<OPENSSL_sk_num(stack) {
                guard let general = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: GENERAL_NAME.self),
                      general.pointee.type == GEN_DNS,
                      let text = string(general.pointee.d.dNSName)
                else { continue }
                names.append(text)
            }
            GENERAL_NAMES_free(stack)
        }
        return names
    }

    private static func string(_ value: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        guard let value, let data = ASN1_STRING_get0_data(value) else { return nil }
        let count = Int(ASN1_STRING_length(value))
        return String(validating: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    }
}
