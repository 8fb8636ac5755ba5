import COpenSSL
import CRelayShims

/// The server's TLS configuration: its identity, ALPN `relay/1`, and optionally client
/// certificates required and verified against a CA (mutual TLS).
public final class TLSServerContext {
    private let context: OpaquePointer
    /// True when clients must present a certificate signed by the client CA.
    public let requiresClientCertificates: Bool

    /// Configures TLS 1.3 with `identity`; with `clientCAPath`, mutual TLS.
    public init(identity: ServerIdentity, clientCAPath: String?) throws(TLSSetupError) {
        context = try TLSContextBase.make(server: true)
        requiresClientCertificates = clientCAPath != nil
        // Every stored property is set: if this initializer throws from here on, deinit
        // runs and frees the context (freeing it here too would be a double free).
        guard SSL_CTX_use_certificate(context, identity.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, identity.privateKey) == 1
        else {
            throw TLSSetupError("cannot use the server certificate: \(OpenSSLError.drain(or: "unknown"))")
        }
        if let clientCAPath {
            guard SSL_CTX_load_verify_locations(context, clientCAPath, nil) == 1,
                  let names = SSL_load_client_CA_file(clientCAPath)
            else {
                throw TLSSetupError("cannot load the client CA \(clientCAPath): \(OpenSSLError.drain(or: "unreadable"))")
            }
            SSL_CTX_set_client_CA_list(context, names)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        try Self.configureDataPath(context)
        SSL_CTX_set_alpn_select_cb(context, selectRelayProtocol, nil)
        SSL_CTX_set_client_hello_cb(context, requireApplicationProtocolOffer, nil)
    }

    deinit { SSL_CTX_free(context) }

    /// The TLS 1.3 suites in the server's order of preference: AES-128-GCM is as strong as
    /// the relay needs and the cheapest with AES instructions (about 1.3× AES-256-GCM);
    /// ChaCha20-Poly1305 is for clients without them, which say so by listing it first
    /// (`SSL_OP_PRIORITIZE_CHACHA`); AES-256-GCM last, for clients that offer nothing else.
    static let cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
    private static func configureDataPath(_ context: OpaquePointer) throws(TLSSetupError) {
        guard SSL_CTX_set_ciphersuites(context, cipherSuites) == 1 else {
            throw TLSSetupError("cannot set the TLS 1.3 suites: \(OpenSSLError.drain(or: "unknown"))")
        }
        // SSL_OP_CIPHER_SERVER_PREFERENCE (bit 22) | SSL_OP_PRIORITIZE_CHACHA (bit 21): macros
        // Swift cannot import.
        _ = SSL_CTX_set_options(context, 1 << 22 | 1 << 21)
        // An idle connection gives its record buffers back (they are taken again on the
        // next record), so idle TLS connections stay as cheap as plain ones.
        _ = SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(SSL_MODE_RELEASE_BUFFERS), nil)
    }

    /// A stream for an accepted, non-blocking socket; the handshake runs inside its first
    /// reads.
    public func makeStream(fd: Int32) throws(TLSSetupError) -> TLSStream {
        guard let ssl = SSL_new(context) else { throw TLSSetupError("SSL_new failed: \(OpenSSLError.drain(or: "out of memory"))") }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            throw TLSSetupError("SSL_set_fd failed")
        }
        SSL_set_accept_state(ssl)
        return TLSStream(ssl: ssl, fd: fd, isServer: true)
    }
}

/// The ALPN callback below only runs when the client offers ALPN at all: a ClientHello
/// without the extension is refused here, with the same alert.
private func requireApplicationProtocolOffer(
    _ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    var offered: UnsafePointer<UInt8>?
    var offeredCount = 0
    let type = UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation)
    guard let ssl, SSL_client_hello_get0_ext(ssl, type, &offered, &offeredCount) == 1 else {
        alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
        return SSL_CLIENT_HELLO_ERROR
    }
    return SSL_CLIENT_HELLO_SUCCESS
}

/// ALPN: choose `relay/1` from the client's list, or end the handshake (a client that
/// does not speak relay/1 is not one of ours).
private func selectRelayProtocol(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outCount: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?, _ offeredCount: UInt32, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let offered, let out, let outCount else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let wanted = TLSContextBase.applicationProtocolWire
    var index = 0
    let count = Int(offeredCount)
    while index < count {
        let length = Int(offered[index])
        guard index + 1 + length <= count else { break }
        if length == wanted.count - 1,
           (0..<length).allSatisfy({ offered[index + 1 + $0] == wanted[1 + $0] }) {
            out.pointee = offered + index + 1
            outCount.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        index += 1 + length
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}
