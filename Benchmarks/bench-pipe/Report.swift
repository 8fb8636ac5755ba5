/// The whole benchmark's result, as `--json` writes it and the table shows it.
struct BenchReport: Codable, Sendable {
    var machine: MachineInfo
    /// UTC, ISO 8601.
    var started = ""
    var loadBefore = ""
    var loadAfter = ""
    var bytes = 0
    var runs = 0
    var binDirectory = ""
    /// How the relay-clients sealed: end-to-end or the relay's key.
    var clientMode = ""
    var generator = "a 1 MiB block of xorshift64* bytes made once, its first 8 bytes set to the block's number, written 1 MiB per write(2) into the sender's stdin pipe (made at 64 KiB, the default size; relay-client --pipe grows its standard pipes to 1 MiB, socat and ncat leave them)"
    /// Whether the counter compared every byte with the pattern (not only the length).
    var comparedBytes = false
    /// Rows not run, and why.
    var skipped: [String: String] = [:]
    var installed: [String] = []
    var notes: [String] = []
    var rows: [RowSummary] = []
    var verdict: Verdict?
}

/// A row over all its runs: the median run for rates and CPU, the largest peak RSS.
struct RowSummary: Codable, Sendable {
    let name: String
    var commands: [String: String]
    var runs: [RunFigures]

    var succeededRuns: [RunFigures] { runs.filter(\.succeeded) }
    var medianMegabytesPerSecond: Double? { median(succeededRuns.compactMap(\.megabytesPerSecond)) }
    var medianTransferMegabytesPerSecond: Double? { median(succeededRuns.compactMap(\.transferMegabytesPerSecond)) }
    var medianSetupSeconds: Double? { median(succeededRuns.compactMap(\.setupSeconds)) }

    func medianCPUPerGiB(_ role: String) -> Double? {
        median(succeededRuns.compactMap { $0.processes[role]?.cpuSecondsPerGiB })
    }

    func peakKiB(_ role: String) -> Int? {
        runs.compactMap { $0.processes[role]?.peakKiB }.max()
    }

    func medianHarnessCPUPerGiB() -> Double? {
        median(succeededRuns.compactMap { run in
            guard let fed = run.feederCPUSeconds, let counted = run.counterCPUSeconds else { return nil }
            return (fed + counted) / (Double(run.bytes) / Double(1 << 30))
        })
    }
}

/// The target of issue 13: relay-client over TLS at least 300 MB/s end to end.
struct Verdict: Codable, Sendable {
    static let targetMegabytesPerSecond = 300.0
    let target: String
    let measured: Double?
    let met: Bool

    init(relayClient: RowSummary?) {
        target = "relay-client --pipe over TLS ≥ \(Int(Self.targetMegabytesPerSecond)) MB/s end to end (median run)"
        measured = relayClient?.medianMegabytesPerSecond
        met = (measured ?? 0) >= Self.targetMegabytesPerSecond
    }
}

/// The median (the mean of the two middle values for an even count); nil for none.
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
