import Foundation

/// Runs every scenario on every available path, each on a fresh forwarder so that each
/// peak RSS belongs to one scenario, and the paths one after the other (never two at
/// once: the machine has few cores).
struct Runner {
    let launcher: PathLauncher
    let workload: Workload
    /// The scenarios to run (all by default): "throughput", "message rate", "round trip".
    var only: Set<String>? = nil
    /// The paths to run (all available by default).
    var paths: Set<PathKind>? = nil

    /// Progress goes to standard error, so `--json` output stays clean.
    static func say(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func available() -> [PathKind] {
        PathKind.allCases.filter { launcher.unavailableReason($0) == nil && paths?.contains($0) != false }
    }

    /// Opens `kind`, runs `body`, records the forwarder's peak RSS under `scenario`.
    private func measure<T>(_ kind: PathKind, _ scenario: String, into results: inout PathResults,
                            _ body: (OpenPath) throws -> T) -> T? {
        do {
            let path = try launcher.open(kind)
            defer { path.close() }
            let peersBefore = Clock.processCPUSeconds()
            let value = try body(path)
            results.peerCPUSeconds[scenario, default: []].append(Clock.processCPUSeconds() - peersBefore)
            if let peak = path.forwarderPeakKiB { results.peakRSSKiB[scenario] = peak }
            if let cpu = path.forwarderCPUSeconds { results.cpuSeconds[scenario, default: []].append(cpu) }
            return value
        } catch {
            results.errors[scenario] = "\(error)"
            Runner.say("  \(kind.rawValue): \(scenario) failed: \(error)")
            return nil
        }
    }

    /// Runs one scenario `workload.repeats` times on each path, the paths taking turns,
    /// and stores the median run by `rank` and the largest peak RSS.
    private func scenario<T>(_ name: String, _ kinds: [PathKind], _ results: inout [PathKind: PathResults],
                             rank: (T) -> Double, store: (inout PathResults, T) -> Void, describe: (T) -> String,
                             _ body: (OpenPath) throws -> T) {
        var runs: [PathKind: [T]] = [:]
        if let only, !only.contains(name) { return }
        for _ in 0..<max(1, workload.repeats) {
            for kind in kinds {
                var figures = results[kind] ?? PathResults()
                let previousPeak = figures.peakRSSKiB[name]
                if let value = measure(kind, name, into: &figures, body) {
                    runs[kind, default: []].append(value)
                    let peak = figures.peakRSSKiB[name].map { ", peak RSS \($0) KiB" } ?? ""
                    let cpu = figures.cpuSeconds[name]?.last.map { ", CPU \(Targets.format($0)) s" } ?? ""
                    Runner.say("  \(kind.rawValue): \(describe(value))\(peak)\(cpu)")
                }
                if let previousPeak, let peak = figures.peakRSSKiB[name] {
                    figures.peakRSSKiB[name] = max(previousPeak, peak)
                }
                results[kind] = figures
            }
        }
        for (kind, values) in runs where !values.isEmpty {
            let median = values.sorted { rank($0) < rank($1) }[values.count / 2]
            store(&results[kind, default: PathResults()], median)
        }
    }

    func runScenarios(into report: inout BenchReport) {
        let kinds = available()
        for kind in PathKind.allCases where !kinds.contains(kind) && launcher.unavailableReason(kind) != nil {
            report.unavailable[kind] = launcher.unavailableReason(kind)
            Runner.say("\(kind.rawValue): skipped, \(launcher.unavailableReason(kind)!)")
        }
        var results: [PathKind: PathResults] = [:]
        let w = workload
        Runner.say("throughput: \(w.throughputFrames) DATA frames of \(w.throughputBodyBytes) B, one way")
        scenario("throughput", kinds, &results, rank: \.megabytesPerSecond, store: { $0.throughput = $1 },
                 describe: { Targets.format($0.megabytesPerSecond) + " MB/s" }) { path throws in
            try StreamScenario.run(on: path, bodyCount: w.throughputBodyBytes, frameLimit: w.throughputFrames)
        }
        Runner.say("message rate: \(w.messageBodyBytes) B DATA frames pipelined one way for \(w.messageRateSeconds) s")
        scenario("message rate", kinds, &results, rank: \.messagesPerSecond, store: { $0.messageRate = $1 },
                 describe: { Targets.format($0.messagesPerSecond) + " msg/s" }) { path throws in
            try StreamScenario.run(on: path, bodyCount: w.messageBodyBytes, secondsLimit: w.messageRateSeconds)
        }
        Runner.say("round trip: \(w.messageBodyBytes) B A → B → A, \(w.roundTrips) times")
        scenario("round trip", kinds, &results, rank: \.p50, store: { $0.roundTrip = $1 },
                 describe: { "p50 \(Targets.format($0.p50)) µs, p99 \(Targets.format($0.p99)) µs" }) { path throws in
            try RoundTripScenario.run(on: path, bodyCount: w.messageBodyBytes, rounds: w.roundTrips, warmup: w.roundTripWarmup)
        }
        report.paths = results
    }

    /// Message sizes of the plot: 16 B to 1 MiB, ×4 each step.
    static let sweepSizes = [16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576]

    /// Throughput (a timed stream) and round trip for every size on every path, one
    /// forwarder per path and size.
    func runSweep(streamSeconds: Double) -> [SweepPoint] {
        var points: [SweepPoint] = []
        for size in Self.sweepSizes {
            for kind in available() {
                var scratch = PathResults()
                let rounds = size >= 65536 ? 300 : 2000
                let point = measure(kind, "sweep \(size)", into: &scratch) { path throws in
                    let stream = try StreamScenario.run(on: path, bodyCount: size, secondsLimit: streamSeconds)
                    let roundTrip = try RoundTripScenario.run(on: path, bodyCount: size, rounds: rounds, warmup: rounds / 10)
                    return SweepPoint(path: kind, stream: stream, roundTrip: roundTrip)
                }
                if let point {
                    points.append(point)
                    Runner.say("sweep \(size) B \(kind.rawValue): \(Targets.format(point.stream.megabytesPerSecond)) MB/s, p50 \(Targets.format(point.roundTrip.p50)) µs")
                }
            }
        }
        return points
    }
}
