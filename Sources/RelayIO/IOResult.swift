/// The outcome of a non-blocking syscall that did not fail.
public enum IOResult: Equatable, Sendable {
    /// `n` bytes were transferred (0 from a read means end of file).
    case processed(Int)
    /// The call would have blocked (EAGAIN / EWOULDBLOCK); wait for readiness.
    case wouldBlock
}

/// A syscall that failed with an errno other than EINTR or EAGAIN.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call that failed, e.g. `"writev"`.
    public let call: String
    /// The errno it set.
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(SystemCallError.message(for: errno))" }

    /// The C library's text for `errno`.
    public static func message(for errno: Int32) -> String {
        String(cString: strerror(errno))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
