/// The report as text: the machine and its load, one line per row (median run), the
/// commands run, and the verdict.
enum TableReport {
    static func render(_ report: BenchReport) -> String {
        var lines: [String] = []
        let machine = report.machine
        lines.append("bench-pipe: \(machine.cpuModel), \(machine.cores) cores, Linux \(machine.kernel); 127.0.0.1")
        lines.append("started \(report.started); load average before: \(report.loadBefore), after: \(report.loadAfter)")
        lines.append("\(report.bytes) bytes (\(format(Double(report.bytes) / Double(1 << 30))) GiB) per run, \(report.runs) run(s) per row, rows taking turns; median run shown (peak RSS: the largest)")
        lines.append("relay-client: \(report.binDirectory), sessions \(report.clientMode)")
        lines.append("generator: \(report.generator); counter: length\(report.comparedBytes ? " and every byte (memcmp against the pattern)" : "") checked")
        lines.append("MB = 10^6 bytes; CPU = user + system from wait4, start-up and handshakes included")
        lines.append("")
        let header = ["row", "MB/s e2e", "MB/s xfer", "setup ms",
                      "CPU s/GiB snd", "relay", "rcv", "RSS MiB snd", "relay", "rcv", "bench s/GiB", "ok runs"]
        var table = [header]
        for row in report.rows {
            let roles = ["sender", "relay", "receiver"]
            table.append([row.name, format(row.medianMegabytesPerSecond), format(row.medianTransferMegabytesPerSecond),
                          format(row.medianSetupSeconds.map { $0 * 1000 })]
                         + roles.map { format(row.medianCPUPerGiB($0)) }
                         + roles.map { format(row.peakKiB($0).map { Double($0) / 1024 }) }
                         + [format(row.medianHarnessCPUPerGiB()), "\(row.succeededRuns.count)/\(row.runs.count)"])
        }
        lines += aligned(table)
        for (name, reason) in report.skipped.sorted(by: { $0.key < $1.key }) {
            lines.append("\(name): not measured, \(reason)")
        }
        for row in report.rows {
            for run in row.runs where !run.succeeded {
                lines.append("\(row.name): a run failed: \(run.problems.joined(separator: "; "))")
            }
        }
        lines.append("")
        lines.append("commands (every child under setpriv --pdeathsig KILL when setpriv is there):")
        for row in report.rows {
            for role in ["receiver", "relay", "sender"] {
                if let command = row.commands[role] { lines.append("  \(row.name), \(role): \(command)") }
            }
        }
        for note in report.installed.map({ "installed: " + $0 }) + report.notes { lines.append(note) }
        if let verdict = report.verdict {
            lines.append("")
            lines.append("target: \(verdict.target): \(verdict.met ? "met" : "MISSED") (\(format(verdict.measured)) MB/s)")
        }
        return lines.joined(separator: "\n")
    }

    /// Three significant figures or so; "-" for nothing.
    static func format(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value >= 100 { return String(Int(value.rounded())) }
        if value >= 10 { return String((value * 10).rounded() / 10) }
        return String((value * 100).rounded() / 100)
    }

    private static func aligned(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, text in
                column == 0 ? text.padding(widths[column]) : String(repeating: " ", count: widths[column] - text.count) + text
            }.joined(separator: "  ")
        }
    }
}

extension String {
    /// Padded with spaces on the right to `width` characters.
    func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }
}
