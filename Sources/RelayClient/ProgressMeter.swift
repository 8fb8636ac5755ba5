#if canImport(Glibc)
import Glibc
#endif
import RelayIO
import RelayTLS

/// Progress of a long stream (pipe mode): bytes, rate and elapsed time on standard
/// error, updated in place (carriage return and erase-line), never on standard output.
/// Shown when standard error is a terminal, or with `--progress`.
public final class ProgressMeter {
    private let start: Double
    private var lastShown = -1.0
    private let interval: Double
    public private(set) var sentCount = 0
    public private(set) var receivedCount = 0
    private var shownAnything = false
    private let write: (String) -> Void

    public init(now: Double = MonotonicClock.now(), interval: Double = 0.25,
                write: @escaping (String) -> Void = { StandardStream.error.write(Array($0.utf8)) }) {
        start = now
        self.interval = interval
        self.write = write
    }

    public func sent(_ count: Int) { sentCount += count }
    public func received(_ count: Int) { receivedCount += count }

    /// Redraws the line if the interval has passed (or `force`).
    public func update(now: Double = MonotonicClock.now(), force: Bool = false) {
        guard force || now - lastShown >= interval else { return }
        lastShown = now
        shownAnything = true
        write("\r" + Self.line(sent: sentCount, received: receivedCount, elapsed: now - start) + "\u{1B}[K")
    }

    /// The final figures, then a newline so the next status line starts clean.
    public func finish(now: Double = MonotonicClock.now()) {
        update(now: now, force: true)
        if shownAnything { write("\n") }
    }

    /// `sent 12.0 MiB, received 3.5 MiB, 45.1 MiB/s, 0:03`
    public static func line(sent: Int, received: Int, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(max(sent, received)) / elapsed : 0
        return "* sent \(bytes(sent)), received \(bytes(received)), \(bytes(Int(rate)))/s, \(duration(elapsed))"
    }

    /// 1023 B, 1.0 KiB, 12.3 MiB, 1.50 GiB.
    public static func bytes(_ count: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        if count < 1024 { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let decimals = value < 10 && unit >= 1 ? 2 : 1
        return fixed(value, decimals: decimals) + " " + units[unit]
    }

    /// 0:07, 12:34, 1:02:03.
    public static func duration(_ seconds: Double) -> String {
        let total = max(0, Int(seconds))
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        let two = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(secs))" : "\(minutes):\(two(secs))"
    }

    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        var fraction = String(scaled % Int(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return decimals == 0 ? "\(whole)" : "\(whole).\(fraction)"
    }
}
