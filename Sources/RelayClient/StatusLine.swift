#if canImport(Glibc)
import Glibc
#endif
import RelayIO

/// Status and error lines (`* bob joined`, `! ...`) on standard error. On a terminal they
/// are shown in reverse video, which no peer can produce (escape sequences in peers'
/// text are neutralised by ``DisplayText``), so a peer's message can never pass for a
/// status line however it is padded or wrapped. Not on a terminal, with `NO_COLOR` set,
/// or with `TERM=dumb`, lines are written as they are.
public enum StatusLine {
    /// True when standard error is a terminal that takes SGR attributes.
    public static let isHighlighted: Bool = {
        guard isatty(2) == 1, getenv("NO_COLOR") == nil else { return false }
        if let term = getenv("TERM").map({ String(cString: $0) }), term == "dumb" { return false }
        return true
    }()

    /// `line` as written: highlighted on a terminal.
    public static func rendered(_ line: String, highlighted: Bool = isHighlighted) -> String {
        highlighted ? "\u{1B}[7m" + line + "\u{1B}[0m" : line
    }

    /// Writes one status line to standard error.
    public static func write(_ line: String) {
        StandardStream.error.writeLine(rendered(line))
    }
}
