import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Failures of the test harness itself (as opposed to expectations about the relay).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the built executables are: `RELAY_BIN_DIR` if set, else the directory of the
/// running test binary (SwiftPM puts the test bundle and the executables in the same
/// bin path; `swift build --build-tests` builds both).
func executableURL(_ name: String) throws -> URL {
    let directory: URL
    if let override = ProcessInfo.processInfo.environment["RELAY_BIN_DIR"], !override.isEmpty {
        directory = URL(fileURLWithPath: override)
    } else {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        directory = testBinary.deletingLastPathComponent()
    }
    let url = directory.appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw HarnessError("\(url.path) is missing: run `swift build --build-tests` first")
    }
    return url
}

/// A child process of the test with its standard output readable line by line (with
/// deadlines), standard error captured to a file, and standard input either a pipe the
/// test writes or `/dev/null`. Killed (SIGKILL) by `kill()` if still running.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let standardOutput: LineReader
    private let standardInput: Pipe?
    private let standardErrorPath: String

    /// `descriptorLimit` starts the child with that `RLIMIT_NOFILE` (soft, hard), through
    /// `prlimit(1)`.
    init(executable: String, arguments: [String], pipeStandardInput: Bool = false,
         descriptorLimit: (soft: Int, hard: Int)? = nil) throws {
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(descriptorLimit.soft):\(descriptorLimit.hard)",
                                 try executableURL(executable).path] + arguments
        } else {
            process.executableURL = try executableURL(executable)
            process.arguments = arguments
        }
        let output = Pipe()
        process.standardOutput = output
        standardOutput = LineReader(fd: output.fileHandleForReading.fileDescriptor)
        standardErrorPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("relay-test-\(UUID().uuidString).stderr").path
        guard FileManager.default.createFile(atPath: standardErrorPath, contents: nil),
              let errorFile = FileHandle(forWritingAtPath: standardErrorPath)
        else { throw HarnessError("cannot create \(standardErrorPath)") }
        process.standardError = errorFile
        if pipeStandardInput {
            let input = Pipe()
            process.standardInput = input
            standardInput = input
        } else {
            process.standardInput = FileHandle.nullDevice
            standardInput = nil
        }
        try process.run()
        try? errorFile.close()
        try? output.fileHandleForWriting.close()
        try? standardInput?.fileHandleForReading.close()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: standardErrorPath)
    }

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Writes to the child's standard input.
    func writeInput(_ text: String) throws {
        guard let standardInput else { throw HarnessError("standard input is not a pipe") }
        try standardInput.fileHandleForWriting.write(contentsOf: Array(text.utf8))
    }

    /// Closes the child's standard input (end of input).
    func closeInput() throws {
        try standardInput?.fileHandleForWriting.close()
    }

    /// Sends `signal` to the child.
    func signal(_ signal: Int32) {
        if process.isRunning { Glibc.kill(pid, signal) }
    }

    /// Waits until the child exits; returns its exit status, or throws once `seconds`
    /// pass (the child is then killed) or when a signal ended it.
    @discardableResult
    func waitForExit(within seconds: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            guard Date() < deadline else {
                kill()
                throw HarnessError("\(process.executableURL?.lastPathComponent ?? "child") did not exit within \(seconds) s")
            }
            usleep(2_000)
        }
        guard process.terminationReason == .exit else {
            throw HarnessError("ended by signal \(process.terminationStatus)")
        }
        return process.terminationStatus
    }

    /// What the child wrote to standard error so far.
    var standardErrorText: String {
        (try? String(contentsOfFile: standardErrorPath, encoding: .utf8)) ?? ""
    }

    /// SIGKILL if still running, and reap.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}

/// Reads lines from a descriptor with a deadline per line (poll, then read).
final class LineReader: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []
    private(set) var reachedEnd = false

    init(fd: Int32) { self.fd = fd }

    /// The next line without its newline, or nil at end of output; throws on timeout.
    func nextLine(within seconds: Double) throws -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            if reachedEnd {
                guard !pending.isEmpty else { return nil }
                defer { pending.removeAll() }
                return String(decoding: pending, as: UTF8.self)
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                throw HarnessError("no complete line within \(seconds) s (partial: \(String(decoding: pending, as: UTF8.self)))")
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, remaining * 1000)))
            if ready < 0, errno != EINTR { throw HarnessError("poll: \(String(cString: strerror(errno)))") }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw HarnessError("read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { reachedEnd = true }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    /// Every remaining line until end of output.
    func remainingLines(within seconds: Double) throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var lines: [String] = []
        while let line = try nextLine(within: max(0.001, deadline.timeIntervalSinceNow)) { lines.append(line) }
        return lines
    }
}

/// A `relay-server` child started with `--insecure-plaintext --port 0` plus `options`,
/// once it has printed `listening on 127.0.0.1:PORT`.
final class RelayServerProcess: @unchecked Sendable {
    let child: ChildProcess
    let port: Int

    init(_ options: [String] = [], descriptorLimit: (soft: Int, hard: Int)? = nil) throws {
        child = try ChildProcess(
            executable: "relay-server",
            arguments: ["--insecure-plaintext", "--host", "127.0.0.1", "--port", "0"] + options,
            descriptorLimit: descriptorLimit)
        let prefix = "listening on 127.0.0.1:"
        while true {
            guard let line = try child.standardOutput.nextLine(within: 20) else {
                throw HarnessError("relay-server exited before listening: \(child.standardErrorText)")
            }
            if line.hasPrefix(prefix), let port = Int(line.dropFirst(prefix.count)) {
                self.port = port
                break
            }
        }
    }

    var pid: pid_t { child.pid }

    /// A fresh connection to this server.
    func connect(receiveTimeout: Double = 5) throws -> TestClient {
        try TestClient(port: port, receiveTimeout: receiveTimeout)
    }

    /// A connection that has joined as `name` (its WELCOME read and checked).
    func join(_ name: String, receiveTimeout: Double = 5) throws -> (client: TestClient, welcome: Welcome) {
        let client = try connect(receiveTimeout: receiveTimeout)
        return (client, try client.join(name))
    }

    /// Bytes `client` sent that wait unread in the relay's socket (its `rx_queue` in
    /// `/proc/net/tcp`): more than zero at rest means the relay stopped reading it.
    func unreadBytes(from client: TestClient) throws -> Int {
        let local = String(format: "0100007F:%04X", port)
        let remote = String(format: "0100007F:%04X", client.localPort)
        let table = try readProcFile("/proc/net/tcp")
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 4, fields[1] == local, fields[2] == remote else { continue }
            let queues = fields[4].split(separator: ":")
            guard queues.count == 2, let unread = Int(queues[1], radix: 16) else { break }
            return unread
        }
        throw HarnessError("no socket \(local) → \(remote) in /proc/net/tcp")
    }

    /// Descriptors the relay holds open now (`/proc/PID/fd`).
    func openDescriptorCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// A field of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`).
    func memory(_ field: String) throws -> Int {
        let status = try readProcFile("/proc/\(pid)/status")
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 3, let kilobytes = Int(parts[1]), parts[2] == "kB" { return kilobytes * 1024 }
        }
        throw HarnessError("no \(field) in /proc/\(pid)/status")
    }
}

/// A `/proc` file read to its end (their size is reported as 0, so read until EOF).
func readProcFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw HarnessError("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count >= 0 else { throw HarnessError("read \(path): \(String(cString: strerror(errno)))") }
        if count == 0 { break }
        contents.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: contents, as: UTF8.self)
}
