#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to standard output and standard error: each call is written out
/// at once (a line a test waits for must not sit in a stdio buffer).
public enum StandardStream {
    case output
    case error

    private var fd: Int32 { self == .output ? 1 : 2 }

    /// Writes `text` followed by a newline.
    public func writeLine(_ text: String) {
        write(Array((text + "\n").utf8))
    }

    /// Writes all of `bytes`, retrying after partial writes and EINTR/EAGAIN. Errors
    /// (a closed pipe) drop the rest: there is nobody left to read it.
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else if written < 0, errno == EAGAIN {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&descriptor, 1, 1000)
                } else {
                    return
                }
            }
        }
    }
}
