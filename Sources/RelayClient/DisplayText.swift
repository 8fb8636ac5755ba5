/// Turns a received message into one safe line of terminal text that cannot pass for
/// something else.
///
/// - Invalid UTF-8 is replaced.
/// - Control characters (which could move the cursor or rewrite the screen), format
///   characters (general category Cf: bidirectional overrides and isolates, zero-width
///   spaces and joiners, U+FEFF, ...) and line and paragraph separators (U+2028, U+2029)
///   are shown as U+FFFD. Tab is kept, and so is a zero-width joiner between two
///   pictographs (an emoji sequence such as 👩‍💻).
/// - White space (any mix of spaces, tabs and other Unicode spaces) is kept in runs of at
///   most ``maximumWhitespaceRun`` characters; the rest of a longer run is dropped, so
///   padding cannot push text onto a line of its own where it would look like a status
///   line such as `* alice left`.
public enum DisplayText {
    /// The longest run of white space shown.
    public static let maximumWhitespaceRun = 4

    /// The safe display form of `bytes`.
    public static func line(from bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        var safe = String.UnicodeScalarView()
        var whitespaceRun = 0
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            if scalar == "\u{200D}", index > 0, index + 1 < scalars.count,
               isPictograph(scalars[index - 1]) || scalars[index - 1] == "\u{FE0F}",
               isPictograph(scalars[index + 1]) {
                safe.append(scalar)  // a joiner inside an emoji sequence (👩‍💻) only joins pictures
                whitespaceRun = 0
            } else if isUnsafe(scalar) {
                safe.append("\u{FFFD}")
                whitespaceRun = 0
            } else if scalar.properties.isWhitespace {
                whitespaceRun += 1
                if whitespaceRun <= maximumWhitespaceRun { safe.append(scalar) }
            } else {
                whitespaceRun = 0
                safe.append(scalar)
            }
        }
        return String(safe)
    }

    /// An emoji picture (not a digit, `#` or `*`, which are emoji too).
    private static func isPictograph(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0xA9 && scalar.properties.isEmoji
    }

    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" { return false }
        if scalar.value <= 0x1F || (0x7F...0x9F).contains(scalar.value) { return true }
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
