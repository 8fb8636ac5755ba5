import Foundation
import BenchmarkSupport
#if canImport(Glibc)
import Glibc
#endif

/// The paths of the many-pairs benchmark (`--pairs`).
enum PairsPath: String, CaseIterable, Codable, CodingKeyRepresentable, Sendable {
    /// relay-server, one process, every pair in its own version 2 room.
    case relay
    /// Each pair's two sockets connected to each other (the harness accepts side b): the floor.
    case direct
    /// magic-wormhole's transit relay (`twistd -n transitrelay`, Python/Twisted, one process).
    case transit
    /// `socat TCP-LISTEN:P,fork TCP:127.0.0.1:Q`: side a connects to socat, which forks one
    /// process per connection and connects on to the harness's listener Q, where side b is
    /// accepted. One forwarding process per pair.
    case socat
}

/// One running forwarder of the many-pairs benchmark, or none for direct.
final class PairsForwarder {
    let path: PairsPath
    let port: Int
    let handshake: PairsHandshake
    let child: ChildProcess?
    /// The harness's listening socket (direct, socat): where side b is accepted.
    let listener: Int32?
    let stderrPath: String?

    private init(path: PairsPath, port: Int, handshake: PairsHandshake, child: ChildProcess?, listener: Int32?, stderrPath: String?) {
        self.path = path
        self.port = port
        self.handshake = handshake
        self.child = child
        self.listener = listener
        self.stderrPath = stderrPath
    }

    /// relay-server's `--max-connections` (and `--max-pending-per-address`): the harness
    /// opens at most 200 pairs (400 connections) at once, and every descriptor the relay
    /// reserves for connections not yet joined is one fewer for joined peers (it serves
    /// limit − 32 − max-connections − 2 × 64 pipes peers).
    static let relayMaxConnections = 512

    /// The joined peers relay-server can hold under a descriptor limit (its own rule,
    /// RelayServerConfiguration.peersServed).
    static func relayPeersServed(descriptorLimit: Int) -> Int {
        descriptorLimit - (32 + relayMaxConnections + 2 * 64 + 2) + 2
    }

    /// Every child is started under `setpriv --pdeathsig KILL` (prctl PR_SET_PDEATHSIG),
    /// so it dies with the harness even when the harness is killed.
    static func start(_ path: PairsPath, tools: PairsTools, maxPeers: Int, workDirectory: String) throws -> PairsForwarder {
        let guardDeath = tools.setpriv.map { [$0, "--pdeathsig", "KILL"] } ?? []
        switch path {
        case .relay:
            let log = "\(workDirectory)/relay-server.stderr"
            let child = try ChildProcess(guardDeath + [
                tools.relayServer, "--insecure-plaintext", "--port", "0", "--max-frame", "\(PathLauncher.relayMaxFrame)",
                "--log-level", "warning", "--max-peers", "\(maxPeers)", "--max-connections", "\(relayMaxConnections)",
                "--max-pending-per-address", "\(relayMaxConnections)",
            ], stderrPath: log)
            let port = try child.listeningPort(within: 10)
            return PairsForwarder(path: path, port: port, handshake: .relayRoom, child: child, listener: nil, stderrPath: log)
        case .direct:
            let (fd, port) = try listen()
            return PairsForwarder(path: path, port: port, handshake: .identify, child: nil, listener: fd, stderrPath: nil)
        case .transit:
            guard let twistd = tools.twistd else { throw BenchError("twistd not available") }
            let port = try PeerListener.freePort()
            let log = "\(workDirectory)/twistd.log"
            let child = try ChildProcess(guardDeath + [
                twistd, "-n", "--pidfile", "\(workDirectory)/twistd.pid", "--logfile", log,
                "transitrelay", "--port=tcp:\(port):interface=127.0.0.1",
            ], stderrPath: "\(workDirectory)/twistd.stderr")
            try waitForListener(port: port, child: child, within: 30)
            return PairsForwarder(path: path, port: port, handshake: .transit, child: child, listener: nil, stderrPath: log)
        case .socat:
            guard let socat = tools.socat else { throw BenchError("socat not available") }
            let (fd, target) = try listen()
            let port = try PeerListener.freePort()
            let log = "\(workDirectory)/socat.stderr"
            let child = try ChildProcess(guardDeath + [
                socat, "TCP-LISTEN:\(port),bind=127.0.0.1,fork,reuseaddr,backlog=4096,nodelay",
                "TCP:127.0.0.1:\(target),nodelay",
            ], stderrPath: log)
            try waitForListener(port: port, child: child, within: 10)
            return PairsForwarder(path: path, port: port, handshake: .identify, child: child, listener: fd, stderrPath: log)
        }
    }

    func stop() {
        child?.stop(within: 10)
        if let listener { Glibc.close(listener) }
    }

    /// A listening socket on 127.0.0.1 with a deep backlog (side b of direct and socat).
    private static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = PeerSocket.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 4096) == 0 else {
            Glibc.close(fd)
            throw BenchError("cannot listen on 127.0.0.1: errno \(errno)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: actual.sin_port)))
    }

    /// Waits until 127.0.0.1:`port` is in LISTEN state (/proc/net/tcp), without connecting
    /// (a probe connection would be a pair half to socat and a handshake to the transit relay).
    private static func waitForListener(port: Int, child: ChildProcess, within seconds: Double) throws {
        let deadline = Clock.now() + seconds
        let needle = ":" + String(format4Hex(port)) + " 00000000:0000 0A"
        while Clock.now() < deadline {
            if let lines = TextFile.lines("/proc/net/tcp"), lines.contains(where: { $0.contains(needle) }) { return }
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                throw BenchError("\(child.name) exited before listening on \(port)")
            }
            usleep(20_000)
        }
        throw BenchError("\(child.name) did not listen on 127.0.0.1:\(port) within \(Int(seconds)) s")
    }

    private static func format4Hex(_ value: Int) -> String {
        let digits = Array("0123456789ABCDEF")
        return String((0..<4).map { digits[(value >> (12 - 4 * $0)) & 15] })
    }

    // MARK: The forwarder's resources (the process and, for socat, its forked children)

    /// Process ids of the forwarder and its descendants.
    func processes() -> [pid_t] {
        guard let root = child?.pid else { return [] }
        var all: [pid_t] = []
        var queue = [root]
        while let pid = queue.popLast() {
            all.append(pid)
            if let line = TextFile.lines("/proc/\(pid)/task/\(pid)/children")?.first {
                queue += line.split(separator: " ").compactMap { pid_t($0) }
            }
        }
        return all
    }

    /// CPU seconds of the forwarder: utime + stime (and reaped children's cutime + cstime)
    /// from /proc/PID/stat for relay-server and the transit relay; for socat fork the live
    /// processes' on-CPU time from /proc/PID/schedstat (each of a thousand children runs
    /// less than a clock tick in a window and stat rounds it to 0) plus the parent's
    /// cutime + cstime (the children already reaped, e.g. by set-ups).
    func cpuSeconds() -> Double? {
        let pids = processes()
        guard !pids.isEmpty else { return nil }
        if path == .socat, let live = scheduledSeconds(), let line = TextFile.lines("/proc/\(pids[0])/stat")?.first,
           let nameEnd = line.lastIndex(of: ")") {
            let fields = line[line.index(after: nameEnd)...].split(separator: " ")
            let reaped = fields.count > 14 ? (Double(fields[13]) ?? 0) + (Double(fields[14]) ?? 0) : 0
            return live + reaped / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        var ticks = 0.0
        for pid in pids {
            guard let line = TextFile.lines("/proc/\(pid)/stat")?.first, let nameEnd = line.lastIndex(of: ")") else { continue }
            let fields = line[line.index(after: nameEnd)...].split(separator: " ")
            guard fields.count > 14 else { continue }
            for field in 11...14 { ticks += Double(fields[field]) ?? 0 }
        }
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Seconds the tree's processes were runnable but waiting for a CPU so far
    /// (/proc/PID/schedstat, second field): on a shared machine, the share of the window
    /// the forwarder lost to other processes.
    func runQueueSeconds() -> Double? {
        let pids = processes()
        guard !pids.isEmpty else { return nil }
        return pids.reduce(0.0) { $0 + (Self.schedstat(pid: $1, field: 1) ?? 0) }
    }

    /// On-CPU seconds of the tree (/proc/PID/schedstat, first field, nanoseconds: exact).
    func scheduledSeconds() -> Double? {
        let pids = processes()
        guard !pids.isEmpty else { return nil }
        return pids.reduce(0.0) { $0 + (Self.schedstat(pid: $1, field: 0) ?? 0) }
    }

    static func runQueueSeconds(pid: pid_t?) -> Double? { schedstat(pid: pid, field: 1) }

    private static func schedstat(pid: pid_t?, field: Int) -> Double? {
        let file = pid.map { "/proc/\($0)/schedstat" } ?? "/proc/thread-self/schedstat"
        guard let line = TextFile.lines(file)?.first else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count > field, let nanoseconds = Double(fields[field]) else { return nil }
        return nanoseconds / 1e9
    }

    /// Resident memory in KiB: VmRSS of relay-server and of the transit relay (one process
    /// each); for socat fork the sum of every process's Pss (shared pages divided among
    /// their sharers), the parent included.
    func residentKiB() -> Int? {
        let pids = processes()
        guard !pids.isEmpty else { return nil }
        if path != .socat { return Self.field("/proc/\(pids[0])/status", "VmRSS:") }
        return pids.reduce(0) { $0 + (Self.field("/proc/\($1)/smaps_rollup", "Pss:") ?? 0) }
    }

    /// Peak resident memory (VmHWM) of the main process, KiB.
    func peakKiB() -> Int? {
        child.flatMap { Self.field("/proc/\($0.pid)/status", "VmHWM:") }
    }

    private static func field(_ file: String, _ name: String) -> Int? {
        TextFile.lines(file)?.first { $0.hasPrefix(name) }
            .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }.first }
    }

    /// The lines the forwarder wrote to its log so far (relay-server: warnings and errors).
    func logLines() -> [String] {
        guard let stderrPath else { return [] }
        return TextFile.lines(stderrPath)?.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty } ?? []
    }
}

/// The programs the many-pairs benchmark runs, found or installed.
struct PairsTools {
    let relayServer: String
    var setpriv: String?
    var twistd: String?
    var socat: String?
    /// Why a path cannot run here.
    var unavailable: [PairsPath: String] = [:]
    /// What the harness installed to get here (said in the report).
    var installed: [String] = []

    /// Finds twistd (on the PATH or in the harness's venv, .build/pairs-venv) and socat;
    /// installs them when missing: `pip install magic-wormhole-transit-relay` into that
    /// venv, `apt-get install -y socat` (as root). Progress on standard error.
    static func find(relayServer: String, twistd explicit: String?, install: Bool) -> PairsTools {
        var tools = PairsTools(relayServer: relayServer)
        tools.setpriv = Tools.onPath("setpriv")
        let venv = packageRoot() + "/.build/pairs-venv"
        func twistdWithTransit() -> String? {
            for candidate in [explicit, venv + "/bin/twistd", Tools.onPath("twistd")].compactMap({ $0 }) {
                let directory = candidate.split(separator: "/").dropLast().joined(separator: "/")
                // The transitrelay plugin ships in the package; a twistd on the PATH may lack it.
                if access(candidate, X_OK) == 0, run("/\(directory)/python -c 'import wormhole_transit_relay'") {
                    return candidate
                }
            }
            return nil
        }
        tools.twistd = twistdWithTransit()
        if tools.twistd == nil, install, let python = Tools.onPath("python3") {
            Runner.say("pairs: installing magic-wormhole-transit-relay into \(venv) (pip)")
            if run("\(python) -m venv \(venv) && \(venv)/bin/pip install -q magic-wormhole-transit-relay") {
                tools.installed.append("pip install magic-wormhole-transit-relay (venv \(venv))")
            }
            tools.twistd = twistdWithTransit()
        }
        if tools.twistd == nil { tools.unavailable[.transit] = "twistd with the transitrelay plugin not found and pip install magic-wormhole-transit-relay failed" }
        let socat = PackageInstaller.find("socat", package: "socat", install: install) { Runner.say("pairs: " + $0) }
        tools.socat = socat.path
        if let installed = socat.installed { tools.installed.append(installed) }
        if let reason = socat.missingReason { tools.unavailable[.socat] = reason }
        return tools
    }

    /// `/bin/sh -c command`, output to /dev/null; true when it exits 0.
    @discardableResult
    static func run(_ command: String) -> Bool {
        guard let child = try? ChildProcess(["/bin/sh", "-c", "(\(command)) >/dev/null 2>&1"]) else { return false }
        return child.waitForExit() == 0
    }

    static func packageRoot() -> String {
        "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
    }
}
