import CRelayShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin non-blocking syscall wrappers: EINTR is retried, EAGAIN becomes `.wouldBlock`,
/// every other failure is a thrown ``SystemCallError``.
public enum Syscall {
    /// `read(2)` into `buffer`; `.processed(0)` is end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> IOResult {
        try retrying("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// `write(2)` of `buffer`.
    public static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SystemCallError) -> IOResult {
        try retrying("write") { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// `writev(2)` of `count` vectors.
    public static func writev(_ fd: Int32, _ vectors: UnsafePointer<iovec>, count: Int32) throws(SystemCallError) -> IOResult {
        try retrying("writev") { Glibc.writev(fd, vectors, count) }
    }

    /// `splice(2)` of up to `count` bytes from `source` to `destination`, one of them a
    /// pipe, without blocking; `.processed(0)` is end of file of `source`.
    public static func splice(from source: Int32, to destination: Int32, count: Int) throws(SystemCallError) -> IOResult {
        try retrying("splice") { CRelayShims_splice_nonblocking(source, destination, count) }
    }

    private static func retrying(_ call: String, _ body: () -> Int) throws(SystemCallError) -> IOResult {
        while true {
            let result = body()
            if result >= 0 { return .processed(result) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SystemCallError(call: call, errno: errno)
            }
        }
    }

    /// Puts `fd` in non-blocking mode and marks it close-on-exec.
    public static func makeNonBlocking(_ fd: Int32) throws(SystemCallError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw SystemCallError(call: "fcntl", errno: errno)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Turns off Nagle's algorithm: frames leave at once.
    public static func setNoDelay(_ fd: Int32) {
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Ignores SIGPIPE for the process: a write to a vanished peer returns EPIPE instead
    /// of killing the relay.
    public static func ignoreSIGPIPE() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// Unblocks `signals` for the calling thread. A blocked mask survives `exec`, so a
    /// process started from a thread that blocks signals (a Dispatch worker, some
    /// supervisors) would otherwise never see the SIGTERM meant to stop it.
    public static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
