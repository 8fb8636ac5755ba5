import COpenSSL
import CRelayShims

/// What both sides configure the same way: TLS 1.3 only, partial writes with a moving
/// write buffer (the output queue retries from wherever its bytes are), read-ahead, no
/// session tickets (nothing resumes), and a missing close_notify read as a plain end of
/// input (the frame layer detects truncation).
enum TLSContextBase {
    /// The ALPN protocol of relay v1 over TLS.
    static let applicationProtocol = "relay/1"
    /// The ALPN wire form: a length byte, then the name.
    static let applicationProtocolWire: [UInt8] = [UInt8(applicationProtocol.utf8.count)] + Array(applicationProtocol.utf8)

    /// OpenSSL's record read buffer with read-ahead: about 3.6 records of 16 KiB per
    /// `read(2)` instead of two reads (header, then body) per record. Kept under the
    /// relay's 64 KiB mmap threshold (`ProcessMemory`), so taking it again after a release
    /// is a heap allocation, not a fresh mapping to fault in.
    static let readBufferLength = 60 * 1024

    static func make(server: Bool) throws(TLSSetupError) -> OpaquePointer {
        guard let context = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSSetupError("cannot create a TLS context: \(OpenSSLError.drain(or: "unknown"))")
        }
        guard CRelayShims_SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1 else {
            SSL_CTX_free(context)
            throw TLSSetupError("this OpenSSL cannot do TLS 1.3")
        }
        _ = CRelayShims_SSL_CTX_set_mode(
            context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        _ = SSL_CTX_set_options(context, 1 << 7)  // SSL_OP_IGNORE_UNEXPECTED_EOF (a macro Swift cannot import)
        _ = SSL_CTX_set_num_tickets(context, 0)
        // Read-ahead: OpenSSL reads as much as its buffer holds; what it holds beyond the
        // records returned is reported by `SSL_has_pending` (TLSStream.hasBufferedInput).
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        SSL_CTX_set_default_read_buffer_len(context, readBufferLength)
        return context
    }
}
