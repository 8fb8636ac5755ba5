import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The command-line options of the many-pairs benchmark (issue 11 part 3).
struct PairsOptions: ParsableArguments {
    @Option(name: .customLong("pairs"),
            help: "Run the many-pairs benchmark instead of the two-peer scenarios: these pair counts, comma-separated, or 'default' (1,100,1000,10000).")
    var pairs: String?

    @Option(name: .customLong("pairs-seconds"), help: "With --pairs: seconds of measured ping-pong per row, after a 0.5 s warm-up (default 3).")
    var seconds: Double = 3

    @Option(name: .customLong("pairs-paths"), help: "With --pairs: the paths, comma-separated (default relay,direct,transit,socat).")
    var paths = "relay,direct,transit,socat"

    @Option(name: .customLong("pairs-streamers"), help: "With --pairs: streaming pairs in the fairness row, beside 100 quiet pairs (default 10; 0: no fairness row).")
    var streamers = 10

    @Option(name: .customLong("pairs-setups"), help: "With --pairs: pair set-ups counted for the set-up CPU figure (default 5000; 0: not measured).")
    var setups = 5000

    @Option(name: .customLong("pairs-socat-max"), help: "With --pairs: the most pairs run through socat fork, one process per pair (default 1000).")
    var socatMax = 1000

    @Option(name: .customLong("twistd"), help: "With --pairs: a twistd with the transitrelay plugin (default: .build/pairs-venv/bin/twistd or the PATH; installed there by pip when missing).")
    var twistd: String?

    @Flag(name: .customLong("pairs-no-install"), help: "With --pairs: do not pip-install the transit relay or apt-get install socat when missing.")
    var noInstall = false

    static let defaultCounts = [1, 100, 1000, 10000]

    func counts() throws -> [Int] {
        guard let pairs else { return [] }
        if pairs == "default" || pairs == "all" { return Self.defaultCounts }
        return try pairs.split(separator: ",").map { word in
            guard let n = Int(word), (1...20000).contains(n) else { throw ValidationError("--pairs takes counts 1…20000, comma-separated, or 'default'") }
            return n
        }
    }

    func pathList() throws -> [PairsPath] {
        try paths.split(separator: ",").map { word in
            guard let path = PairsPath(rawValue: String(word)) else { throw ValidationError("--pairs-paths takes relay, direct, transit, socat") }
            return path
        }
    }
}

/// One row: one path, one number of pairs, one timed ping-pong.
struct PairsRow: Codable, Sendable {
    let path: PairsPath
    let quietPairs: Int
    let streamingPairs: Int
    var seconds = 0.0
    /// Round trips completed in the window, all quiet pairs together.
    var roundTrips = 0
    var roundTripsPerSecond = 0.0
    /// Round-trip times of the quiet pairs (µs).
    var p50: Double?
    var p99: Double?
    var p999: Double?
    /// Quiet pairs that completed no round trip in the window.
    var starvedPairs = 0
    /// What the streaming pairs delivered, MB/s at their receivers (10^6 bytes).
    var streamMegabytesPerSecond: Double?
    /// Wall time to open every pair (handshakes included), seconds, and the forwarder's
    /// CPU over it.
    var setupSeconds: Double?
    var setupForwarderCPUSeconds: Double?
    /// The forwarder's resident memory (KiB): started with no pair, with every pair
    /// joined and idle, at the end of the window; peak (VmHWM, main process).
    var emptyKiB: Int?
    var idleKiB: Int?
    var endKiB: Int?
    var peakKiB: Int?
    /// The forwarder's CPU over the window (user + system, seconds), and per cent of one core.
    var forwarderCPUSeconds: Double?
    var forwarderCPUPercent: Double?
    /// This harness's CPU over the window, per cent of one core (the client is one thread).
    var clientCPUPercent: Double?
    /// Time runnable but waiting for a CPU over the window, per cent of it (schedstat): the
    /// forwarder's (all its processes) and the client thread's. High on a shared machine.
    var forwarderRunQueuePercent: Double?
    var clientRunQueuePercent: Double?
    /// Why the row failed or was skipped.
    var error: String?
    /// The forwarder's log lines (relay-server at --log-level warning) beyond the expected
    /// plain-TCP warning: what it said while this row ran.
    var forwarderLog: [String] = []

    /// The forwarder's CPU per round trip in the window (µs): what a round trip costs it,
    /// whatever share of a core the machine gave it.
    var forwarderMicrosecondsPerRoundTrip: Double? {
        guard let forwarderCPUSeconds, roundTrips > 0 else { return nil }
        return forwarderCPUSeconds * 1e6 / Double(roundTrips)
    }

    /// Resident KiB per joined connection, idle, above the empty forwarder.
    var idleKiBPerConnection: Double? {
        guard let idleKiB, let emptyKiB, quietPairs + streamingPairs > 0 else { return nil }
        return Double(idleKiB - emptyKiB) / Double(2 * (quietPairs + streamingPairs))
    }

    var label: String { streamingPairs > 0 ? "\(quietPairs) + \(streamingPairs) streaming" : "\(quietPairs)" }
}

/// CPU that pair set-ups cost: connect, both openings (HELLO/WELCOME…), one 64-byte
/// message each way, close.
struct PairsSetupCost: Codable, Sendable {
    let path: PairsPath
    var setups = 0
    /// Pairs set up at once in each round.
    var concurrent = 0
    var wallSeconds = 0.0
    /// The forwarder's CPU per set-up (µs): utime + stime from /proc/PID/stat (clock
    /// ticks), and the same from /proc/PID/schedstat (nanoseconds), as a cross-check.
    var forwarderMicroseconds: Double?
    var forwarderScheduledMicroseconds: Double?
    /// This harness's CPU per set-up (µs): both client ends, and for direct also the accepting end.
    var clientMicroseconds: Double?
    var error: String?
}

struct PairsReport: Codable, Sendable {
    /// The pair counts asked for, and the ones run (fewer when the descriptor limit is too low).
    var counts: [Int] = []
    var ranCounts: [Int] = []
    var paths: [PairsPath] = []
    var seconds = 0.0
    var warmupSeconds = 0.5
    var rows: [PairsRow] = []
    var setupCosts: [PairsSetupCost] = []
    var unavailable: [PairsPath: String] = [:]
    var installed: [String] = []
    var notes: [String] = []
    /// /proc/loadavg when the benchmark started and when it ended.
    var loadBefore = ""
    var loadAfter = ""
    var descriptorLimit = 0
    var targets: [TargetCheck] = []
}

/// Runs the rows: for each pair count, every path in turn (one fresh forwarder per row),
/// then the fairness row on every path, then the set-up cost on every path.
struct PairsBenchmark {
    let options: PairsOptions
    let relayServer: String
    static let warmup = 0.5
    static let descriptorLimit: rlim_t = 200_000

    func run() throws -> PairsReport {
        var report = PairsReport()
        report.counts = try options.counts()
        report.paths = try options.pathList()
        report.seconds = options.seconds
        report.warmupSeconds = Self.warmup
        report.loadBefore = Self.loadAverage()
        report.descriptorLimit = Self.raiseDescriptorLimit()
        let tools = PairsTools.find(relayServer: relayServer, twistd: options.twistd, install: !options.noInstall)
        if tools.setpriv == nil {
            report.notes.append("setpriv not found: the forwarders are not tied to the harness's life (no PR_SET_PDEATHSIG)")
        }
        report.installed = tools.installed
        for path in report.paths {
            if let reason = tools.unavailable[path] {
                report.unavailable[path] = reason
                Runner.say("pairs: \(path.rawValue) skipped, \(reason)")
            }
        }
        let paths = report.paths.filter { tools.unavailable[$0] == nil }
        // Without CAP_SYS_RESOURCE the hard limit cannot be raised: then the largest rows
        // run with as many pairs as both the harness (2 descriptors a pair) and the relay
        // (2 a pair beside its reserve) can hold, rounded down to a hundred, and say so.
        let relayPeers = PairsForwarder.relayPeersServed(descriptorLimit: report.descriptorLimit)
        let fitting = (min(relayPeers, report.descriptorLimit - 200) / 2) / 100 * 100
        let maxPeers = min(40_000, relayPeers)
        for count in report.counts {
            let pairs = min(count, fitting)
            if pairs < count {
                let note = "\(count) pairs asked, \(pairs) run: the descriptor limit is \(report.descriptorLimit) (hard; raising it needs CAP_SYS_RESOURCE), the harness needs 2 per pair and relay-server serves \(relayPeers) peers under it"
                report.notes.append(note)
                Runner.say("pairs: " + note)
            }
            report.ranCounts.append(pairs)
            Runner.say("pairs: \(pairs) pairs ping-ponging 64 B DATA for \(options.seconds) s")
            for path in paths {
                report.rows.append(row(path, quiet: pairs, streaming: 0, tools: tools, maxPeers: maxPeers))
            }
        }
        if options.streamers > 0 {
            Runner.say("pairs: fairness, 100 quiet pairs beside \(options.streamers) pairs streaming 1 MiB frames")
            for path in paths {
                report.rows.append(row(path, quiet: 100, streaming: options.streamers, tools: tools, maxPeers: maxPeers))
            }
        }
        if options.setups > 0 {
            Runner.say("pairs: set-up cost, \(options.setups) set-ups (connect, openings, one message each way, close)")
            for path in paths {
                report.setupCosts.append(setupCost(path, tools: tools, maxPeers: maxPeers))
            }
        }
        report.loadAfter = Self.loadAverage()
        report.targets = PairsTargets.check(report)
        return report
    }

    private func batch(_ path: PairsPath) -> Int {
        // Twisted listens with a backlog of 50: more at once and SYNs wait a second.
        path == .transit ? 20 : 200
    }

    private func row(_ path: PairsPath, quiet: Int, streaming: Int, tools: PairsTools, maxPeers: Int) -> PairsRow {
        var row = PairsRow(path: path, quietPairs: quiet, streamingPairs: streaming)
        if path == .socat, quiet + streaming > options.socatMax {
            row.error = "not run: socat fork needs one process per pair; more than --pairs-socat-max \(options.socatMax)"
            Runner.say("  socat: \(row.label) pairs \(row.error!)")
            return row
        }
        let work = Self.temporaryDirectory()
        var forwarder: PairsForwarder?
        do {
            let started = try PairsForwarder.start(path, tools: tools, maxPeers: maxPeers, workDirectory: work)
            forwarder = started
            usleep(200_000)
            row.emptyKiB = started.residentKiB()
            let client = try PairsClient(port: started.port, handshake: started.handshake, acceptOn: started.listener)
            defer { client.closeAll() }
            let setupStart = Clock.now()
            let setupCPU = started.cpuSeconds()
            try client.open(count: quiet, batch: batch(path))
            try client.open(count: streaming, streaming: true, batch: batch(path))
            row.setupSeconds = Clock.now() - setupStart
            if let before = setupCPU, let after = started.cpuSeconds() { row.setupForwarderCPUSeconds = after - before }
            usleep(300_000)
            row.idleKiB = started.residentKiB()
            var cpu0: Double?, client0 = 0.0, wall0 = 0.0, wait0: Double?, clientWait0: Double?
            var cpu1: Double?, client1 = 0.0, wall1 = 0.0, wait1: Double?, clientWait1: Double?
            try client.pingPong(warmup: Self.warmup, seconds: options.seconds, atWindowStart: {
                wall0 = Clock.now()
                cpu0 = started.cpuSeconds()
                client0 = Clock.processCPUSeconds()
                wait0 = started.runQueueSeconds()
                clientWait0 = PairsForwarder.runQueueSeconds(pid: nil)
            }, atWindowEnd: {
                wall1 = Clock.now()
                cpu1 = started.cpuSeconds()
                client1 = Clock.processCPUSeconds()
                wait1 = started.runQueueSeconds()
                clientWait1 = PairsForwarder.runQueueSeconds(pid: nil)
                row.endKiB = started.residentKiB()
                row.peakKiB = started.peakKiB()
            })
            let window = wall1 - wall0
            row.seconds = window
            row.roundTrips = client.roundTripsInWindow
            row.roundTripsPerSecond = Double(row.roundTrips) / window
            if !client.samples.isEmpty {
                let latency = LatencyResult(bodyBytes: 64, samples: client.samples.map(Double.init))
                row.p50 = latency.p50
                row.p99 = latency.p99
                row.p999 = latency.p999
            }
            row.starvedPairs = client.starvedPairs
            if streaming > 0 { row.streamMegabytesPerSecond = Double(client.streamedBytes) / window / 1e6 }
            if let cpu0, let cpu1 {
                row.forwarderCPUSeconds = cpu1 - cpu0
                row.forwarderCPUPercent = (cpu1 - cpu0) / window * 100
            }
            row.clientCPUPercent = (client1 - client0) / window * 100
            if let wait0, let wait1 { row.forwarderRunQueuePercent = (wait1 - wait0) / window * 100 }
            if let clientWait0, let clientWait1 { row.clientRunQueuePercent = (clientWait1 - clientWait0) / window * 100 }
            let rss = row.endKiB.map { ", RSS \(TableReport.grouped(Double($0) / 1024, decimals: 1)) MiB" } ?? ""
            let cpu = row.forwarderCPUPercent.map { ", CPU \(Targets.format($0)) %" } ?? ""
            Runner.say("  \(path.rawValue): \(row.label) pairs: \(TableReport.grouped(row.roundTripsPerSecond, decimals: 0)) round trips/s, p50 \(Targets.format(row.p50 ?? 0)) µs, p99 \(Targets.format(row.p99 ?? 0)) µs\(rss)\(cpu), set-up \(Targets.format(row.setupSeconds ?? 0)) s (forwarder CPU \(Targets.format(row.setupForwarderCPUSeconds ?? 0)) s)")
        } catch {
            row.error = "\(error)"
            Runner.say("  \(path.rawValue): \(row.label) pairs failed: \(error)")
        }
        if let forwarder {
            forwarder.stop()
            row.forwarderLog = Self.unexpected(forwarder.logLines(), path)
        }
        Self.remove(work)
        return row
    }

    private func setupCost(_ path: PairsPath, tools: PairsTools, maxPeers: Int) -> PairsSetupCost {
        let concurrent = path == .transit ? 20 : 50
        var cost = PairsSetupCost(path: path)
        cost.concurrent = concurrent
        let rounds = max(1, options.setups / concurrent)
        let work = Self.temporaryDirectory()
        var forwarder: PairsForwarder?
        do {
            let started = try PairsForwarder.start(path, tools: tools, maxPeers: maxPeers, workDirectory: work)
            forwarder = started
            let client = try PairsClient(port: started.port, handshake: started.handshake, acceptOn: started.listener)
            defer { client.closeAll() }
            func round() throws {
                try client.open(count: concurrent, batch: concurrent)
                try client.oneRoundTripEach()
                client.reset()
            }
            try round() // warm: not counted
            usleep(200_000)
            let cpu0 = started.cpuSeconds()
            let scheduled0 = started.scheduledSeconds()
            let client0 = Clock.processCPUSeconds()
            let wall0 = Clock.now()
            for _ in 0..<rounds { try round() }
            cost.wallSeconds = Clock.now() - wall0
            let client1 = Clock.processCPUSeconds()
            // Let the forwarder finish the last closes before its CPU is read.
            usleep(300_000)
            let cpu1 = started.cpuSeconds()
            let scheduled1 = started.scheduledSeconds()
            cost.setups = rounds * concurrent
            if path != .socat, let scheduled0, let scheduled1 { cost.forwarderScheduledMicroseconds = (scheduled1 - scheduled0) / Double(cost.setups) * 1e6 }
            if let cpu0, let cpu1 { cost.forwarderMicroseconds = (cpu1 - cpu0) / Double(cost.setups) * 1e6 }
            cost.clientMicroseconds = (client1 - client0) / Double(cost.setups) * 1e6
            Runner.say("  \(path.rawValue): \(cost.setups) set-ups in \(Targets.format(cost.wallSeconds)) s, forwarder \(cost.forwarderMicroseconds.map { Targets.format($0) } ?? "-") µs CPU each, harness \(Targets.format(cost.clientMicroseconds ?? 0)) µs")
        } catch {
            cost.error = "\(error)"
            Runner.say("  \(path.rawValue): set-up cost failed: \(error)")
        }
        forwarder?.stop()
        Self.remove(work)
        return cost
    }

    /// Log lines other than the ones every run prints (relay-server's plain-TCP warning,
    /// Twisted's start-up and per-connection lines are not kept).
    private static func unexpected(_ lines: [String], _ path: PairsPath) -> [String] {
        switch path {
        case .relay: Array(lines.filter { !$0.contains("insecure-plaintext") && !$0.contains("plain TCP") }.prefix(20))
        // socat's children report the resets of the harness's teardown (it closes with
        // bytes unread); anything else is kept.
        case .socat: Array(lines.filter { !$0.contains("Connection reset by peer") && !$0.contains("Broken pipe") }.prefix(20))
        case .transit, .direct: []
        }
    }

    /// Raises RLIMIT_NOFILE (soft and hard) for this process and the forwarders it starts.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        var wanted = rlimit(rlim_cur: max(limit.rlim_cur, descriptorLimit), rlim_max: max(limit.rlim_max, descriptorLimit))
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &wanted) != 0 {
            wanted = rlimit(rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max)
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &wanted)
        }
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }

    static func loadAverage() -> String {
        TextFile.lines("/proc/loadavg")?.first.map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "?"
    }

    static func temporaryDirectory() -> String {
        var template = Array("/tmp/bench-pairs-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return made.map { String(cString: $0) } ?? "/tmp"
    }

    static func remove(_ directory: String) {
        guard directory.hasPrefix("/tmp/bench-pairs-") else { return }
        PairsTools.run("rm -rf '\(directory)'")
    }
}
