import CRelayShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The capacity of a pipe the program was handed (standard input or output in a shell
/// pipeline, a service's pipes). A 64 KiB pipe, the default, wakes a streaming reader
/// and writer for every 64 KiB; a larger one lets each run longer between waits.
public enum PipeCapacity {
    /// Grows the pipe behind `fd` to at least `bytes` when it is a pipe whose capacity is
    /// smaller, never shrinks one. Returns the capacity afterwards, or nil when `fd` is not
    /// a pipe. A refusal (the per-user pipe memory limit, `/proc/sys/fs/pipe-max-size`)
    /// leaves the pipe as it was: a larger pipe is an optimisation, never a requirement.
    @discardableResult
    public static func raise(_ fd: Int32, to bytes: Int) -> Int? {
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return nil }
        let current = CRelayShims_fcntl_get_pipe_size(fd)
        guard current >= 0 else { return nil }
        guard Int(current) < bytes else { return Int(current) }
        let granted = CRelayShims_fcntl_set_pipe_size(fd, Int32(clamping: bytes))
        return granted >= 0 ? Int(granted) : Int(current)
    }
}
