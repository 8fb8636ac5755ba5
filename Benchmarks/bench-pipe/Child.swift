#if canImport(Glibc)
import Glibc
#endif

/// A process the benchmark runs: a client, a relay or a peer tool. Started with
/// `posix_spawn` from the main thread, under `setpriv --pdeathsig KILL` when setpriv is
/// there, so it dies with the benchmark even when the benchmark is killed (the death
/// signal follows the *thread* that started it, which is why only the main thread
/// starts children). Reaped with `wait4`, which gives its CPU time and peak RSS.
final class Child {
    let pid: pid_t
    /// A short name for messages ("relay-client (sender)").
    let label: String
    let stderrPath: String
    private(set) var usage: ChildUsage?

    /// Where the child's standard streams go.
    enum Stream {
        /// An open descriptor of the benchmark's, duplicated onto the stream.
        case descriptor(Int32)
        /// A file opened by path (/dev/null, a log).
        case path(String)
    }

    /// Starts `command` (`command[0]` an absolute path) with `environment` (nil: the
    /// benchmark's own); `deathGuard` is put in front (setpriv's words, or none).
    init(_ command: [String], label: String, deathGuard: [String], stdin: Stream, stdout: Stream,
         stderrPath: String, environment: [String]? = nil) throws {
        let argv = deathGuard + command
        guard let program = argv.first else { throw BenchError("\(label): empty command") }
        self.label = label
        self.stderrPath = stderrPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target, flags) in [(stdin, Int32(0), O_RDONLY), (stdout, 1, O_WRONLY | O_CREAT | O_TRUNC)] {
            switch stream {
            case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .path(let path): posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o644)
            }
        }
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = (environment ?? []).map { strdup($0) } + [nil]
        defer { for pointer in cEnvironment { free(pointer) } }
        var child = pid_t()
        let status = environment == nil
            ? posix_spawn(&child, program, &actions, nil, &cArguments, environ)
            : posix_spawn(&child, program, &actions, nil, &cArguments, &cEnvironment)
        guard status == 0 else { throw BenchError("cannot start \(program) (\(label)): \(String(cString: strerror(status)))") }
        pid = child
    }

    deinit { stop(within: 2) }

    /// True while the process has not exited (it is reaped here if it has).
    var isRunning: Bool {
        guard usage == nil else { return false }
        return reap(options: WNOHANG) == nil
    }

    /// Waits for the process to exit by itself, up to `seconds`; nil when it is still running.
    func waitForExit(within seconds: Double) -> ChildUsage? {
        let deadline = MonotonicClock.now() + seconds
        while usage == nil, MonotonicClock.now() < deadline {
            if reap(options: WNOHANG) != nil { break }
            usleep(5_000)
        }
        return usage
    }

    /// SIGTERM, then SIGKILL after `seconds`; returns what `wait4` reported.
    @discardableResult
    func stop(within seconds: Double = 5) -> ChildUsage? {
        if let usage { return usage }
        kill(pid, SIGTERM)
        if let usage = waitForExit(within: seconds) { return usage }
        kill(pid, SIGKILL)
        return reap(options: 0)
    }

    /// VmHWM of /proc/PID/status, KiB; nil once the process has exited.
    func residentHighWaterKiB() -> Int? {
        guard usage == nil else { return nil }
        return LineFile.lines("/proc/\(pid)/status")?.first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }.first }
    }

    /// The last lines of the child's standard error (for error messages).
    func stderrTail(_ count: Int = 6) -> String {
        (LineFile.lines(stderrPath) ?? []).suffix(count).joined(separator: " | ")
    }

    private func reap(options: Int32) -> ChildUsage? {
        if let usage { return usage }
        var status: Int32 = 0
        var resources = rusage()
        let result = wait4(pid, &status, options, &resources)
        guard result == pid else { return nil }
        let finished = ChildUsage(status: status, resources: resources)
        usage = finished
        return finished
    }
}

/// What `wait4` said of a child that exited.
struct ChildUsage: Codable, Sendable {
    /// The exit code, or 128 + the signal that killed it.
    let exitCode: Int32
    let userSeconds: Double
    let systemSeconds: Double
    /// `ru_maxrss`: the kernel's high-water mark of its resident set (VmHWM) at exit, KiB.
    let peakKiB: Int

    var cpuSeconds: Double { userSeconds + systemSeconds }

    init(status: Int32, resources: rusage) {
        exitCode = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        userSeconds = seconds(resources.ru_utime)
        systemSeconds = seconds(resources.ru_stime)
        peakKiB = resources.ru_maxrss
    }
}

/// An error with a message for the user.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The monotonic clock, in seconds.
enum MonotonicClock {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// CPU seconds (user + system) of the calling thread so far.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
