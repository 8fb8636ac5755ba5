import Foundation

/// Number formatting shared by the table and the target checks.
enum Format {
    /// Three significant digits with k/M/G: `2.95 M`, `812 k`, `74.1 k`.
    static func rate(_ value: Double) -> String {
        let units: [(Double, String)] = [(1e9, " G"), (1e6, " M"), (1e3, " k")]
        let (scale, unit) = units.first { value >= $0.0 } ?? (1, "")
        return significant(value / scale) + unit
    }

    /// Three significant digits (no unit).
    static func significant(_ value: Double) -> String {
        let decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2
        return String(format: "%.\(decimals)f", value)
    }

    /// `0.97×`, `12.3×`.
    static func ratio(_ value: Double) -> String {
        significant(value) + "×"
    }

    static func padLeft(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func padRight(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}
