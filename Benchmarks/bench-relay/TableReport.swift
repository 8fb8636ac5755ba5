extension PathKind {
    /// The columns of the main table: the TLS path has a table of its own (TLSScenarios.swift).
    static var plainTable: [PathKind] { allCases.filter { $0 != .tls } }
}

/// The human-readable report: one row per figure, one column per path, then the relay's
/// figure as a ratio of each baseline, then the targets.
enum TableReport {
    private struct Row: Sendable {
        let label: String
        let value: @Sendable (PathResults) -> Double?
        /// Decimals printed.
        let decimals: Int
    }

    private static let rows: [Row] = [
        Row(label: "1 MiB frames, MB/s at receiver", value: { $0.throughput?.megabytesPerSecond }, decimals: 0),
        Row(label: "messages/s at receiver", value: { $0.messageRate?.messagesPerSecond }, decimals: 0),
        Row(label: "round trip p50, µs", value: { $0.roundTrip?.p50 }, decimals: 1),
        Row(label: "round trip p99, µs", value: { $0.roundTrip?.p99 }, decimals: 1),
        Row(label: "round trip p99.9, µs", value: { $0.roundTrip?.p999 }, decimals: 1),
        Row(label: "peak RSS, throughput, MiB", value: { rss($0, "throughput") }, decimals: 1),
        Row(label: "peak RSS, message rate, MiB", value: { rss($0, "message rate") }, decimals: 1),
        Row(label: "peak RSS, round trip, MiB", value: { rss($0, "round trip") }, decimals: 1),
        Row(label: "forwarder CPU, throughput, s", value: { median($0.cpuSeconds["throughput"]) }, decimals: 2),
        Row(label: "peers' CPU, throughput, s", value: { median($0.peerCPUSeconds["throughput"]) }, decimals: 2),
        Row(label: "forwarder CPU, message rate, s", value: { median($0.cpuSeconds["message rate"]) }, decimals: 2),
        Row(label: "peers' CPU, message rate, s", value: { median($0.peerCPUSeconds["message rate"]) }, decimals: 2),
    ]

    /// The median of a scenario's runs (CPU seconds).
    private static func median(_ runs: [Double]?) -> Double? {
        guard let runs, !runs.isEmpty else { return nil }
        return runs.sorted()[runs.count / 2]
    }

    private static func rss(_ results: PathResults, _ scenario: String) -> Double? {
        results.peakRSSKiB[scenario].map { Double($0) / 1024 }
    }

    static func render(_ report: BenchReport) -> String {
        var lines: [String] = []
        let m = report.machine
        lines.append("bench-relay\(report.quick ? " --quick" : ""): \(m.cpu), \(m.cores) cores, \(m.kernel); 127.0.0.1")
        if !report.paths.isEmpty {
            let w = report.workload
            lines.append("messages: \(w.messageBodyBytes)-byte DATA bodies; throughput: \(w.throughputFrames) frames of \(w.throughputBodyBytes) bytes")
        }
        if report.workload.repeats > 1, !report.paths.isEmpty {
            lines.append("each figure is the median of \(report.workload.repeats) runs per path (peak RSS: the largest)")
        }
        for note in report.installed { lines.append("installed: \(note)") }
        for (kind, reason) in report.unavailable.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            lines.append("\(kind.rawValue): not measured, \(reason)")
        }
        let kinds = PathKind.plainTable
        if !report.paths.isEmpty { lines += figureTable(report) + TLSReport.render(report) }
        for (kind, results) in report.paths.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            for (scenario, error) in results.errors.sorted(by: { $0.key < $1.key }) {
                lines.append("\(kind.rawValue) \(scenario) failed: \(error)")
            }
        }
        if let sweep = report.sweep, !sweep.isEmpty {
            lines.append("")
            lines.append("sweep (MB/s at receiver | round trip p50 µs)")
            var sweepHeader = pad("body bytes", 12)
            for kind in kinds { sweepHeader += padLeft(kind.rawValue, 20) }
            lines.append(sweepHeader)
            for size in Runner.sweepSizes {
                var line = pad("\(size)", 12)
                for kind in kinds {
                    let point = sweep.first { $0.path == kind && $0.stream.bodyBytes == size }
                    line += padLeft(point.map {
                        "\(grouped($0.stream.megabytesPerSecond, decimals: 0)) | \(grouped($0.roundTrip.p50, decimals: 0))"
                    } ?? "-", 20)
                }
                lines.append(line)
            }
        }
        if let count = report.instructions {
            lines.append("")
            lines.append("instructions per forwarded \(report.workload.messageBodyBytes) B message in relay-server (callgrind, user space):")
            lines.append("  lock-step ping-pong: \(grouped(count.perMessageLockStep, decimals: 0)) (over \(count.lockStepMessages) messages)")
            lines.append("  pipelined one way:   \(grouped(count.perMessagePipelined, decimals: 0)) (over \(count.pipelinedMessages) messages; depends on how runs fall)")
        } else if let reason = report.instructionsUnavailable {
            lines.append("")
            lines.append("instructions: not measured, \(reason)")
        }
        if !report.targets.isEmpty {
            lines.append("")
            lines.append("targets")
            for check in report.targets {
                let verdict = switch check.met {
                case true?: "met   "
                case false?: "MISSED"
                case nil: "n/a   "
                }
                lines.append("  \(verdict) \(pad(check.target, 44)) \(check.measured)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One row per figure, one column per path, then the relay's ratio to each baseline.
    private static func figureTable(_ report: BenchReport) -> [String] {
        var lines: [String] = []
        let kinds = PathKind.plainTable
        let baselines = kinds.filter { $0 != .relay }
        let labelWidth = 32
        let width = 12
        var header = pad("", labelWidth)
        for kind in kinds { header += padLeft(kind.rawValue, width) }
        for kind in baselines { header += padLeft("/\(kind.rawValue)", width) }
        lines.append("")
        lines.append(header)
        for row in rows {
            var line = pad(row.label, labelWidth)
            let values = kinds.map { report.paths[$0].flatMap(row.value) }
            for value in values {
                line += padLeft(value.map { grouped($0, decimals: row.decimals) } ?? "-", width)
            }
            let mine = values[0]
            for kind in baselines {
                let theirs = report.paths[kind].flatMap(row.value)
                let text = if let mine, let theirs, theirs > 0 { Targets.format(mine / theirs) + "×" } else { "-" }
                line += padLeft(text, width)
            }
            lines.append(line)
        }
        return lines
    }

    /// `1234567.8` as `1,234,568` (decimals 0) or `1,234,567.8`.
    static func grouped(_ value: Double, decimals: Int) -> String {
        let text = Targets.formatFixed(value, decimals: decimals)
        let parts = text.split(separator: ".", maxSplits: 1)
        var integer = String(parts[0])
        let negative = integer.hasPrefix("-")
        if negative { integer.removeFirst() }
        var groups: [String] = []
        while integer.count > 3 {
            groups.insert(String(integer.suffix(3)), at: 0)
            integer.removeLast(3)
        }
        groups.insert(integer, at: 0)
        return (negative ? "-" : "") + groups.joined(separator: ",") + (parts.count > 1 ? "." + parts[1] : "")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }
}
