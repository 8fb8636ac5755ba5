/// Turns a received message into one safe line of terminal text: invalid UTF-8 is
/// replaced, and control characters (which could move the cursor or rewrite the screen)
/// are shown as U+FFFD, except tab.
public enum DisplayText {
    public static func line(from bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var safe = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            safe.append(isUnsafe(scalar) ? "\u{FFFD}" : scalar)
        }
        return String(safe)
    }

    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        scalar != "\t" && (scalar.value <= 0x1F || (0x7F...0x9F).contains(scalar.value))
    }
}
