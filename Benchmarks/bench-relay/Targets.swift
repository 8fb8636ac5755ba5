/// One target of issue 5, checked against a run's figures.
struct TargetCheck: Codable, Sendable {
    let target: String
    /// The measured ratio or value, as printed.
    let measured: String
    /// nil when a figure it needs is missing (a baseline not available here).
    let met: Bool?
}

/// The targets: the relay next to direct TCP, socat and the Python relay.
enum Targets {
    static let peakRSSLimitKiB = 32 * 1024

    static func check(_ report: BenchReport) -> [TargetCheck] {
        let relay = report.paths[.relay]
        func figure(_ kind: PathKind, _ value: (PathResults) -> Double?) -> Double? {
            report.paths[kind].flatMap(value)
        }
        func ratio(_ what: String, _ value: @escaping (PathResults) -> Double?, against kind: PathKind,
                   atLeast: Double? = nil, atMost: Double? = nil, above: Bool = false) -> TargetCheck {
            let bound = atLeast.map { "≥ \(format($0))×" } ?? atMost.map { "≤ \(format($0))×" } ?? "> 1×"
            let name = "\(what) \(bound) \(kind.rawValue)"
            guard let mine = relay.flatMap(value), let theirs = figure(kind, value), theirs > 0 else {
                return TargetCheck(target: name, measured: "n/a", met: nil)
            }
            let r = mine / theirs
            let met = if let atLeast { r >= atLeast } else if let atMost { r <= atMost } else { r > 1 }
            return TargetCheck(target: name, measured: "\(format(r))×", met: met)
        }
        let throughput: (PathResults) -> Double? = { $0.throughput?.megabytesPerSecond }
        let rate: (PathResults) -> Double? = { $0.messageRate?.messagesPerSecond }
        let p50: (PathResults) -> Double? = { $0.roundTrip?.p50 }
        var checks = [
            ratio("1 MiB throughput", throughput, against: .direct, atLeast: 0.6),
            ratio("1 MiB throughput", throughput, against: .python, above: true),
            ratio("1 MiB throughput", throughput, against: .socat, above: true),
            ratio("64 B message rate", rate, against: .python, atLeast: 50),
            ratio("64 B message rate", rate, against: .socat, atLeast: 1),
            ratio("64 B round trip p50", p50, against: .direct, atMost: 1.5),
            ratio("64 B round trip p50", p50, against: .python, atMost: 0.6),
        ]
        let peaks = relay?.peakRSSKiB ?? [:]
        if let worst = peaks.values.max() {
            checks.append(TargetCheck(target: "relay peak RSS < 32 MiB in every scenario",
                                      measured: "\(format(Double(worst) / 1024)) MiB",
                                      met: worst < peakRSSLimitKiB))
        } else {
            checks.append(TargetCheck(target: "relay peak RSS < 32 MiB in every scenario", measured: "n/a", met: nil))
        }
        return checks
    }

    /// Three significant figures or so, for ratios and rates.
    static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2
        return formatFixed(value, decimals: decimals)
    }

    static func formatFixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(Int(rounded))"
        if decimals > 0 {
            let fraction = Int((abs(rounded) * scale).rounded()) % Int(scale)
            let digits = String(fraction)
            text = (rounded < 0 && Int(rounded) == 0 ? "-" : "") + text + "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }
}
