#if canImport(Glibc)
import Glibc
#endif

/// A pipe whose two descriptors are close-on-exec (a child gets one only by `dup2`, so no
/// child holds an end open that would keep an end of file from arriving).
struct PipePair {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
}
