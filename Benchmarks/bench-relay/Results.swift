import Foundation

/// How much traffic each scenario sends.
struct Workload: Codable, Sendable {
    /// Body bytes of the throughput scenario's DATA frames.
    var throughputBodyBytes = 1 << 20
    /// Frames of the throughput scenario (1024 × 1 MiB = 1 GiB).
    var throughputFrames = 1024
    /// Body bytes of the message-rate and round-trip scenarios' frames.
    var messageBodyBytes = 64
    var messageRateSeconds = 5.0
    var roundTrips = 10_000
    var roundTripWarmup = 500
    /// Each scenario runs this many times on each path, the paths taking turns; the
    /// median run is reported (and the largest peak RSS), so one noisy moment on a
    /// shared machine does not decide a ratio.
    var repeats = 3

    static let full = Workload()
    static let quick = Workload(throughputFrames: 256, messageRateSeconds: 1, roundTrips: 2_000, roundTripWarmup: 200,
                                repeats: 1)
}

/// Every figure measured on one path.
struct PathResults: Codable, Sendable {
    var throughput: StreamResult?
    var messageRate: StreamResult?
    var roundTrip: LatencyResult?
    /// The forwarder's peak RSS (KiB) in each scenario, keyed by scenario name.
    var peakRSSKiB: [String: Int] = [:]
    /// The forwarder's CPU time (user + system, seconds) in each run of each scenario.
    var cpuSeconds: [String: [Double]] = [:]
    /// The two peers' CPU time (this process: A, B and the harness) in each run.
    var peerCPUSeconds: [String: [Double]] = [:]
    /// Scenarios that failed on this path, with the reason.
    var errors: [String: String] = [:]
}

/// One message size of the sweep (for the plot).
struct SweepPoint: Codable, Sendable {
    let path: PathKind
    let stream: StreamResult
    let roundTrip: LatencyResult
}

/// Instructions the server executes per forwarded 64-byte message (callgrind).
struct InstructionCount: Codable, Sendable {
    /// Lock-step ping-pong: every message is read, parsed and written alone. Deterministic.
    let perMessageLockStep: Double
    /// Pipelined one way: messages arrive in runs and leave in one write per run.
    /// Depends on how the runs fall, so only approximately repeatable.
    let perMessagePipelined: Double
    let lockStepMessages: Int
    let pipelinedMessages: Int
}

/// Where the figures were measured.
struct Machine: Codable, Sendable {
    let cpu: String
    let cores: Int
    let kernel: String

    static func current() -> Machine {
        let cpu = TextFile.lines("/proc/cpuinfo")?.first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown"
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return Machine(cpu: cpu, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: "Linux \(release)")
    }
}

/// Everything one run produced: what `--json` prints.
struct BenchReport: Codable, Sendable {
    var machine = Machine.current()
    var command = ""
    var quick = false
    var workload = Workload.full
    var paths: [PathKind: PathResults] = [:]
    /// Paths that could not run here, with the reason.
    var unavailable: [PathKind: String] = [:]
    /// What the harness installed to run (apt-get install -y socat).
    var installed: [String] = []
    var sweep: [SweepPoint]?
    var instructions: InstructionCount?
    var instructionsUnavailable: String?
    var targets: [TargetCheck] = []
    /// The many-pairs benchmark (`--pairs`), when it ran instead of the scenarios above.
    var pairs: PairsReport?
}
