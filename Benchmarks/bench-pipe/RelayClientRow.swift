#if canImport(Glibc)
import Glibc
#endif

/// relay-client `--pipe` → release relay-server over TLS (its default transport) →
/// relay-client `--pipe`. The relay runs with a state directory of the benchmark's (its
/// identity made on the first start), and prints its key's fingerprint, which both
/// clients pin with `--fingerprint` (no known_servers file is read or written). Each
/// client has its own HOME, XDG_STATE_HOME and XDG_CONFIG_HOME, so each makes its own
/// end-to-end identity, as two users would; nothing pre-seeds known_peers: pipe mode
/// goes on unverified (only `--require-verified` refuses). A random room per run when
/// the client knows rooms.
struct RelayClientRow: Row {
    let binDirectory: String
    let context: RowContext
    let features: ClientFeatures
    let trustRelay: Bool
    /// Put before each program (a profiler); the CPU and RSS figures are then the wrapper's.
    let wrappers: [String: [String]]
    let name = "relay-client (TLS)"
    let receiverSeesEnd = true
    private(set) var commands: [String: String] = [:]
    private var port = 0
    private var fingerprint = ""
    private var room = ""
    /// The relay's standard output (fingerprint and listening lines), kept open while it runs.
    private var relayOutput: Int32 = -1

    init(binDirectory: String, context: RowContext, features: ClientFeatures, trustRelay: Bool,
         wrappers: [String: [String]]) {
        self.binDirectory = binDirectory
        self.context = context
        self.features = features
        self.trustRelay = trustRelay
        self.wrappers = wrappers
    }

    mutating func startRelayAndReceiver(receiverOutput: Int32) throws -> (relay: Child, receiver: Child) {
        room = "bench-pipe-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let stateDirectory = context.workDirectory + "/relay-state"
        mkdir(stateDirectory, 0o700)
        let server = [binDirectory + "/relay-server", "--port", "0", "--state-dir", stateDirectory, "--log-level", "warning"]
        commands["relay"] = server.shellText
        let output = try PipePair()
        let relay = try Child((wrappers["relay"] ?? []) + server, label: "relay-server", deathGuard: context.deathGuard,
                              stdin: .path("/dev/null"), stdout: .descriptor(output.writeEnd),
                              stderrPath: context.stderrPath("relay-client", "relay"))
        close(output.writeEnd)
        relayOutput = output.readEnd
        (fingerprint, port) = try Self.readStartLines(output.readEnd, relay: relay)
        let receiver = try startClient("receiver", stdin: .path("/dev/null"), stdout: .descriptor(receiverOutput))
        return (relay, receiver)
    }

    mutating func startSender(senderInput: Int32) throws -> Child {
        try startClient("sender", stdin: .descriptor(senderInput), stdout: .path("/dev/null"))
    }

    /// Closes the relay's standard output (after the relay stopped).
    func finish() {
        if relayOutput >= 0 { close(relayOutput) }
    }

    private mutating func startClient(_ role: String, stdin: Child.Stream, stdout: Child.Stream) throws -> Child {
        var command = [binDirectory + "/relay-client", "--pipe", "--host", "127.0.0.1", "--port", "\(port)",
                       "--name", "bench-\(role)", "--fingerprint", fingerprint]
        if features.rooms { command += ["--room", room] }
        if trustRelay { command.append("--trust-relay") }
        if features.noProgress { command.append("--no-progress") }
        commands[role] = command.shellText
        return try Child((wrappers[role] ?? []) + command, label: "relay-client (\(role))", deathGuard: context.deathGuard,
                         stdin: stdin, stdout: stdout, stderrPath: context.stderrPath("relay-client", role),
                         environment: clientEnvironment(role))
    }

    /// The benchmark's environment with the client's own home and state directories, and
    /// no RELAY_* variables (the command line says everything).
    private func clientEnvironment(_ role: String) -> [String] {
        let home = "\(context.workDirectory)/\(role)-home"
        for directory in [home, home + "/state", home + "/config"] { mkdir(directory, 0o700) }
        var environment: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            let key = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            if !["HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"].contains(key), !key.hasPrefix("RELAY_") {
                environment.append(text)
            }
            entry += 1
        }
        return environment + ["HOME=\(home)", "XDG_STATE_HOME=\(home)/state", "XDG_CONFIG_HOME=\(home)/config"]
    }

    /// Reads relay-server's `fingerprint sha256:HEX` and `listening on HOST:PORT` lines.
    private static func readStartLines(_ fd: Int32, relay: Child) throws -> (String, Int) {
        var fingerprint: String?
        var line: [UInt8] = []
        let deadline = MonotonicClock.now() + 15
        while MonotonicClock.now() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) >= 0 else { continue }
            guard poller.revents != 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else {
                throw BenchError("relay-server exited before listening; stderr: \(relay.stderrTail())")
            }
            guard byte == UInt8(ascii: "\n") else {
                line.append(byte)
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll()
            if text.hasPrefix("fingerprint ") { fingerprint = String(text.dropFirst("fingerprint ".count)) }
            if text.hasPrefix("listening on "), let port = text.split(separator: ":").last.flatMap({ Int($0) }) {
                guard let fingerprint else {
                    throw BenchError("relay-server printed no 'fingerprint sha256:HEX' line: is it running with TLS?")
                }
                return (fingerprint, port)
            }
        }
        throw BenchError("relay-server did not print 'listening on HOST:PORT' within 15 s; stderr: \(relay.stderrTail())")
    }
}
