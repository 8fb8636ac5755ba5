import CRelayShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A kernel pipe that carries one large frame body from one socket to another with
/// `splice(2)`: the bytes move as page references, never through user memory (on
/// loopback the relay then copies nothing; the peers' own copies remain). Owned by
/// whoever holds it; closing happens in `deinit`.
public final class SplicePipe {
    private let readFD: Int32
    private let writeFD: Int32
    /// Bytes the pipe can hold.
    public let capacity: Int
    /// Bytes in the pipe.
    public private(set) var count = 0

    /// The budget this pipe holds a slot of while it is open.
    private let budget: PipeBudget?

    /// A non-blocking pipe of at least `capacity` bytes, or nil when `budget` has no slot
    /// left or the system refuses one (descriptors, or the per-user pipe memory limit):
    /// the caller then copies.
    public init?(capacity: Int, budget: PipeBudget? = nil) {
        if let budget, !budget.take() { return nil }
        var fds: [Int32] = [-1, -1]
        guard CRelayShims_pipe2_nonblocking(&fds) == 0 else {
            budget?.give()
            return nil
        }
        let granted = CRelayShims_fcntl_set_pipe_size(fds[1], Int32(clamping: capacity))
        guard granted >= capacity else {
            close(fds[0])
            close(fds[1])
            budget?.give()
            return nil
        }
        readFD = fds[0]
        writeFD = fds[1]
        self.capacity = Int(granted)
        self.budget = budget
    }

    deinit {
        close(readFD)
        close(writeFD)
        budget?.give()
    }

    /// Moves up to `limit` bytes from the socket `fd` into the pipe.
    public func fill(from fd: Int32, limit: Int) throws(IOError) -> IOResult {
        let result: IOResult
        do { result = try Syscall.splice(from: fd, to: writeFD, count: min(limit, capacity - count)) } catch { throw .system(error) }
        if case .processed(let moved) = result { count += moved }
        return result
    }

    /// Moves up to `limit` bytes from the pipe to the socket `fd`.
    public func drain(to fd: Int32, limit: Int) throws(IOError) -> IOResult {
        let result: IOResult
        do { result = try Syscall.splice(from: readFD, to: fd, count: min(limit, count)) } catch { throw .system(error) }
        if case .processed(let moved) = result { count -= moved }
        return result
    }

    /// Copies everything in the pipe out into `buffer` (the fallback when the bytes
    /// cannot be spliced onwards); `buffer` must hold `count` bytes.
    public func readAll(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) {
        precondition(buffer.count >= count)
        var offset = 0
        while count > 0 {
            let result: IOResult
            do {
                result = try Syscall.read(readFD, into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + count)]))
            } catch {
                throw .system(error)
            }
            guard case .processed(let moved) = result, moved > 0 else {
                throw .system(SystemCallError(call: "read", errno: EIO))
            }
            offset += moved
            count -= moved
        }
    }
}
