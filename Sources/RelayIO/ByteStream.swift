#if canImport(Glibc)
import Glibc
#endif

/// Why a stream could not move bytes.
public enum IOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A syscall failed (reset, broken pipe, ...).
    case system(SystemCallError)
    /// The TLS layer failed (bad record, failed handshake, verification); OpenSSL's reason.
    case tls(String)
    /// A TLS server's client sent something other than a TLS handshake first: a
    /// plaintext client.
    case notTLS

    public var description: String {
        switch self {
        case .system(let error): "\(error)"
        case .tls(let reason): "TLS: \(reason)"
        case .notTLS: "the client does not speak TLS"
        }
    }
}

/// A connection's byte stream: plain TCP or TLS over it. Non-blocking: `.wouldBlock`
/// means "wait for the socket", `.processed(0)` from a read means the peer finished.
public protocol ByteStream: AnyObject {
    /// The socket underneath, for watchers.
    var fd: Int32 { get }
    /// Reads into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult
    /// Writes the vectors in order (as far as the stream takes them now).
    func write(_ vectors: UnsafeBufferPointer<iovec>) throws(IOError) -> IOResult
    /// True when the stream holds input a read returns without the socket becoming
    /// readable again (TLS records already decrypted); the reactor must read again.
    var hasBufferedInput: Bool { get }
    /// Ends the sending side in order (TLS close_notify, then TCP half-close).
    func closeWrite()
    /// True once frames can be written: always for TCP, after the handshake for TLS.
    var isEstablished: Bool { get }
}

extension ByteStream {
    /// Writes one contiguous buffer (as far as the stream takes it now).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(IOError) -> IOResult {
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        return try withUnsafePointer(to: &vector) { pointer throws(IOError) in
            try write(UnsafeBufferPointer(start: pointer, count: 1))
        }
    }
}

/// Plain TCP.
public final class PlainStream: ByteStream {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult {
        do { return try Syscall.read(fd, into: buffer) } catch { throw .system(error) }
    }

    public func write(_ vectors: UnsafeBufferPointer<iovec>) throws(IOError) -> IOResult {
        do { return try Syscall.writev(fd, vectors.baseAddress!, count: Int32(vectors.count)) } catch { throw .system(error) }
    }

    public var hasBufferedInput: Bool { false }

    public var isEstablished: Bool { true }

    public func closeWrite() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }
}
