#if canImport(Glibc)
import Glibc
#endif

/// A forwarder the harness runs (relay-server, socat, the Python relay, or one of them
/// under valgrind): started with `posix_spawn`, its standard output on a pipe so the
/// harness can read the `listening on HOST:PORT` line, standard error to a file or
/// /dev/null; stopped with SIGTERM.
final class ChildProcess {
    let pid: pid_t
    let name: String
    private let outputFD: Int32
    private var exitStatus: Int32?
    /// The `fingerprint sha256:HEX` line relay-server prints before `listening on` under
    /// TLS (the part after `fingerprint `), once `listeningPort` has read it.
    private(set) var printedFingerprint: String?

    /// Starts `arguments[0]` (an absolute path) with the rest as its arguments.
    init(_ arguments: [String], stderrPath: String = "/dev/null") throws {
        name = arguments[0].split(separator: "/").last.map(String.init) ?? arguments[0]
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw BenchError("pipe: errno \(errno)") }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child = pid_t()
        let status = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
        Glibc.close(pipeFDs[1])
        guard status == 0 else {
            Glibc.close(pipeFDs[0])
            throw BenchError("cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        pid = child
        outputFD = pipeFDs[0]
    }

    deinit {
        stop()
        Glibc.close(outputFD)
    }

    /// Waits for the `listening on HOST:PORT` line and returns the port.
    func listeningPort(within seconds: Double) throws -> Int {
        let deadline = Clock.now() + seconds
        var line: [UInt8] = []
        while true {
            let remaining = deadline - Clock.now()
            var poller = pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0)
            guard remaining > 0, poll(&poller, 1, Int32(remaining * 1000)) == 1 else {
                throw BenchError("\(name) did not print 'listening on HOST:PORT' within \(seconds) s")
            }
            var byte: UInt8 = 0
            guard read(outputFD, &byte, 1) == 1 else { throw BenchError("\(name) exited before listening") }
            guard byte == UInt8(ascii: "\n") else {
                line.append(byte)
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll()
            if text.hasPrefix("fingerprint ") { printedFingerprint = String(text.dropFirst("fingerprint ".count)) }
            if text.hasPrefix("listening on "), let port = text.split(separator: ":").last.flatMap({ Int($0) }) {
                return port
            }
        }
    }

    /// The process's peak resident set (`VmHWM` in /proc/PID/status), in KiB.
    func peakResidentKiB() -> Int? {
        TextFile.lines("/proc/\(pid)/status")?.first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }.first }
    }

    /// Waits for the process to exit by itself; returns its exit status.
    func waitForExit() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        exitStatus = code
        return code
    }

    /// CPU time the process has used so far (user + system, from /proc/PID/stat), in seconds.
    func cpuSeconds() -> Double? {
        guard let line = TextFile.lines("/proc/\(pid)/stat")?.first,
              let nameEnd = line.lastIndex(of: ")")
        else { return nil }
        // Fields after the name start at field 3 (state); utime and stime are 14 and 15.
        let fields = line[line.index(after: nameEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGTERM, then waits up to `seconds` (SIGKILL after that). Returns the exit status
    /// (128 + signal when killed by one).
    @discardableResult
    func stop(within seconds: Double = 5) -> Int32 {
        if let exitStatus { return exitStatus }
        kill(pid, SIGTERM)
        let deadline = Clock.now() + seconds
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Clock.now() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(2_000)
        }
        let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        exitStatus = code
        return code
    }
}
