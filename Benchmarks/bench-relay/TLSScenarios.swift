#if canImport(Glibc)
import Glibc
#endif

/// The TLS path: relay-server with its default transport (TLS 1.3, identity created in a
/// state directory of this run), peers speaking TLS over blocking sockets (TLSPeer.swift).
/// It runs every scenario beside the plain paths, taking turns with them, so its ratios
/// to the plain relay come from the same run.
enum TLSPath {
    /// The relay's state directory for this run: its identity is created on the first
    /// start and reused by the others.
    static let stateDirectory: String = {
        var template = Array("/tmp/bench-relay-tls-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("bench-relay: mkdtemp failed: errno \(errno)") }
        return String(cString: made)
    }()

    /// The suite the last TLS path negotiated (for the report).
    nonisolated(unsafe) static var lastCipherSuite: String?

    /// Removes the state directory (the identity files, then the directory).
    static func removeStateDirectory() {
        guard let directory = opendir(stateDirectory) else { return }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { unlink(stateDirectory + "/" + name) }
        }
        closedir(directory)
        rmdir(stateDirectory)
    }
}

extension PathLauncher {
    /// relay-server with TLS (no `--insecure-plaintext`), both peers through TLS 1.3 with
    /// the relay's printed key fingerprint pinned.
    func openTLSRelay() throws -> OpenPath {
        let forwarder = try ChildProcess(
            relayWrapper + [
                relayServer, "--port", "0", "--max-frame", "\(Self.relayMaxFrame)", "--log-level", "warning",
                "--state-dir", TLSPath.stateDirectory,
            ],
            stderrPath: relayStderr)
        return try joined(.tls, forwarder: forwarder, expectPeerJoined: true) { plain in
            guard let printed = forwarder.printedFingerprint, let pinned = TLSPeerSession.parseFingerprint(printed) else {
                throw BenchError("relay-server printed no 'fingerprint sha256:HEX' line")
            }
            var socket = plain
            let session = try TLSPeerSession(fd: plain.fd, pinned: pinned)
            TLSPath.lastCipherSuite = session.cipherSuite
            socket.tls = session
            return socket
        }
    }
}

/// The TLS rows of the report: the TLS relay beside the plain relay, from the same run.
enum TLSReport {
    static let gibibyte = Double(1 << 30)

    /// Relay CPU seconds per GiB of DATA bodies in the throughput scenario (the median
    /// run's CPU over the bytes of one run).
    static func cpuPerGiB(_ results: PathResults?) -> Double? {
        guard let results, let stream = results.throughput, let cpu = median(results.cpuSeconds["throughput"]) else {
            return nil
        }
        return cpu / (Double(stream.frames * stream.bodyBytes) / gibibyte)
    }

    /// Relay CPU seconds per million messages in the message-rate scenario.
    static func cpuPerMillionMessages(_ results: PathResults?) -> Double? {
        guard let results, let stream = results.messageRate, let cpu = median(results.cpuSeconds["message rate"]),
              stream.frames > 0
        else { return nil }
        return cpu / (Double(stream.frames) / 1e6)
    }

    static func worstPeakMiB(_ results: PathResults?) -> Double? {
        results?.peakRSSKiB.values.max().map { Double($0) / 1024 }
    }

    private static func median(_ runs: [Double]?) -> Double? {
        guard let runs, !runs.isEmpty else { return nil }
        return runs.sorted()[runs.count / 2]
    }

    private struct Row: Sendable {
        let label: String
        let decimals: Int
        let value: @Sendable (PathResults?) -> Double?
    }

    private static let rows: [Row] = [
        Row(label: "1 MiB frames, MB/s at receiver", decimals: 0) { $0?.throughput?.megabytesPerSecond },
        Row(label: "messages/s at receiver", decimals: 0) { $0?.messageRate?.messagesPerSecond },
        Row(label: "round trip p50, µs", decimals: 1) { $0?.roundTrip?.p50 },
        Row(label: "round trip p99, µs", decimals: 1) { $0?.roundTrip?.p99 },
        Row(label: "round trip p99.9, µs", decimals: 1) { $0?.roundTrip?.p999 },
        Row(label: "relay CPU per GiB, 1 MiB frames, s", decimals: 3) { cpuPerGiB($0) },
        Row(label: "relay CPU per M messages, s", decimals: 3) { cpuPerMillionMessages($0) },
        Row(label: "peers' CPU, throughput, s", decimals: 2) { $0.flatMap { median($0.peerCPUSeconds["throughput"]) } },
        Row(label: "peak RSS, worst scenario, MiB", decimals: 1) { worstPeakMiB($0) },
    ]

    /// The TLS table: relay over TLS, relay over plain TCP, their ratio.
    static func render(_ report: BenchReport) -> [String] {
        guard report.paths[.tls] != nil else { return [] }
        let tls = report.paths[.tls]
        let plain = report.paths[.relay]
        let labelWidth = 36
        let width = 12
        var lines = [""]
        lines.append("TLS, the default transport (suite \(TLSPath.lastCipherSuite ?? "?")), beside plain TCP in the same run")
        lines.append(pad("", labelWidth) + padLeft("relay-tls", width) + padLeft("relay", width) + padLeft("tls/plain", width))
        for row in rows {
            let mine = row.value(tls)
            let theirs = row.value(plain)
            var line = pad(row.label, labelWidth)
            line += padLeft(mine.map { TableReport.grouped($0, decimals: row.decimals) } ?? "-", width)
            line += padLeft(theirs.map { TableReport.grouped($0, decimals: row.decimals) } ?? "-", width)
            line += padLeft(mine.flatMap { m in theirs.flatMap { $0 > 0 ? Targets.format(m / $0) + "×" : nil } } ?? "-", width)
            lines.append(line)
        }
        return lines
    }

    /// The TLS targets of issue 14.
    static func targets(_ report: BenchReport) -> [TargetCheck] {
        let tls = report.paths[.tls]
        var checks: [TargetCheck] = []
        let name = "TLS relay CPU per GiB (1 MiB frames) ≤ 1.00 s"
        if let cpu = cpuPerGiB(tls) {
            checks.append(TargetCheck(target: name, measured: "\(Targets.format(cpu)) s", met: cpu <= 1.0))
        } else {
            checks.append(TargetCheck(target: name, measured: "n/a", met: nil))
        }
        let ratioName = "TLS 1 MiB throughput ≥ 0.50× relay (plain)"
        if let mine = tls?.throughput?.megabytesPerSecond, let theirs = report.paths[.relay]?.throughput?.megabytesPerSecond,
           theirs > 0 {
            checks.append(TargetCheck(target: ratioName, measured: "\(Targets.format(mine / theirs))×", met: mine / theirs >= 0.5))
        } else {
            checks.append(TargetCheck(target: ratioName, measured: "n/a", met: nil))
        }
        let rssName = "TLS relay peak RSS < 32 MiB in every scenario"
        if let worst = tls?.peakRSSKiB.values.max() {
            checks.append(TargetCheck(target: rssName, measured: "\(Targets.format(Double(worst) / 1024)) MiB",
                                      met: worst < Targets.peakRSSLimitKiB))
        } else {
            checks.append(TargetCheck(target: rssName, measured: "n/a", met: nil))
        }
        return checks
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }
}
