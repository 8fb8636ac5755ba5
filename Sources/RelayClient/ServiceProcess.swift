#if canImport(Glibc)
import Glibc
#endif
import CRelayShims
import RelayIO
import RelayTLS

/// A service (`--exec CMD`): `/bin/sh -c CMD` with its standard input and output on
/// non-blocking pipes the client's loop watches (standard error is the client's). The
/// child gets SIGTERM when the client dies (PR_SET_PDEATHSIG); libev's child watcher
/// reaps it.
final class ServiceProcess {
    let command: String
    let pid: Int32
    /// The client writes the child's standard input here.
    let toChild: Int32
    /// The client reads the child's standard output here.
    let fromChild: Int32
    private var watcher: ChildWatcher?
    /// The wait status once the child exited.
    private(set) var waitStatus: Int32?

    /// Why a service could not be started.
    enum SpawnError: Error, CustomStringConvertible {
        /// `pipe2` failed (errno's message).
        case pipe(String)
        /// `fork` failed (errno's message).
        case fork(String)

        var description: String {
            switch self {
            case .pipe(let reason): "cannot make a pipe: \(reason)"
            case .fork(let reason): "cannot start the service: \(reason)"
            }
        }
    }

    /// Starts the child; `exited` runs once it has exited (and was reaped).
    init(command: String, loop: EventLoop, exited: @escaping (ServiceProcess) -> Void) throws(SpawnError) {
        self.command = command
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard CRelayShims_pipe2_nonblocking(&input) == 0 else {
            throw .pipe(SystemCallError.message(for: errno))
        }
        guard CRelayShims_pipe2_nonblocking(&output) == 0 else {
            let saved = errno
            Glibc.close(input[0])
            Glibc.close(input[1])
            throw .pipe(SystemCallError.message(for: saved))
        }
        let child = command.withCString { CRelayShims_spawn_shell($0, input[0], output[1]) }
        Glibc.close(input[0])
        Glibc.close(output[1])
        guard child > 0 else {
            let saved = errno
            Glibc.close(input[1])
            Glibc.close(output[0])
            throw .fork(SystemCallError.message(for: saved))
        }
        pid = child
        toChild = input[1]
        fromChild = output[0]
        let watcher = ChildWatcher(loop: loop, pid: child) { [weak self] in
            guard let self, let watcher = self.watcher else { return }
            self.waitStatus = watcher.waitStatus
            watcher.invalidate()
            exited(self)
        }
        self.watcher = watcher
        watcher.start()
    }

    /// `exited with status 0`, `was killed by signal 15`.
    var exitDescription: String {
        guard let status = waitStatus else { return "is running" }
        if status & 0x7F == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "was killed by signal \(status & 0x7F)"
    }

    /// True once it exited with status 0.
    var succeeded: Bool { waitStatus == 0 }

    /// Asks a child still running to stop (the client is leaving).
    func terminate() {
        guard waitStatus == nil else { return }
        kill(pid, SIGTERM)
    }

    /// Reaps the child without the loop (the client is leaving): waits at most `seconds`
    /// for it to exit. True once its wait status is known.
    @discardableResult
    func reap(within seconds: Double) -> Bool {
        let deadline = MonotonicClock.now() + seconds
        while waitStatus == nil {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                waitStatus = status
            } else if result < 0, errno != EINTR {
                // libev reaped it already; its watcher holds the status.
                waitStatus = watcher?.waitStatus
                break
            } else if MonotonicClock.now() >= deadline {
                break
            } else {
                usleep(10_000)
            }
        }
        watcher?.invalidate()
        return waitStatus != nil
    }
}
