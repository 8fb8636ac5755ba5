/// A validated peer name: 1 to 32 bytes of valid UTF-8, no control characters
/// (U+0000–U+001F, U+007F–U+009F), no format characters (general category Cf:
/// bidirectional controls, zero-width spaces and joiners, U+FEFF, ...), no line or
/// paragraph separators (U+2028, U+2029), no leading or trailing white space. Names compare
/// byte for byte.
public struct PeerName: Hashable, Sendable, CustomStringConvertible {
    /// The longest name, in bytes.
    public static let maximumByteCount = 32

    /// Why a name was refused.
    public enum ValidationError: Error, Equatable, Sendable {
        case empty
        case tooLong(byteCount: Int, limit: Int)
        case invalidUTF8
        case controlCharacter
        /// A format character (Cf) or a line or paragraph separator: invisible, or able
        /// to reorder or break the text around it.
        case invisibleCharacter
        case surroundingWhitespace

        /// A sentence for the ERROR frame's message.
        public var reason: String {
            switch self {
            case .empty: "the name is empty"
            case .tooLong(let count, let limit): "the name is \(count) bytes long; the limit is \(limit)"
            case .invalidUTF8: "the name is not valid UTF-8"
            case .controlCharacter: "the name contains a control character"
            case .invisibleCharacter: "the name contains a format character or a line or paragraph separator"
            case .surroundingWhitespace: "the name starts or ends with white space"
            }
        }
    }

    /// The name's UTF-8 bytes, exactly as sent.
    public let bytes: [UInt8]
    /// The name as text.
    public let text: String

    /// Validates raw name bytes as the protocol requires; `maximumByteCount` is 32 for
    /// protocol v1 and 255 for the legacy protocol, whose names are one read's bytes.
    public init<Bytes: Collection>(
        validating bytes: Bytes, maximumByteCount: Int = PeerName.maximumByteCount
    ) throws(ValidationError) where Bytes.Element == UInt8 {
        let bytes = Array(bytes)
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= maximumByteCount else { throw .tooLong(byteCount: bytes.count, limit: maximumByteCount) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        for scalar in text.unicodeScalars where Self.isControl(scalar) { throw .controlCharacter }
        for scalar in text.unicodeScalars where Self.isInvisible(scalar) { throw .invisibleCharacter }
        if let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
           first.properties.isWhitespace || last.properties.isWhitespace {
            throw .surroundingWhitespace
        }
        self.bytes = bytes
        self.text = text
    }

    /// Validates a name given as text.
    public init(validating text: String) throws(ValidationError) {
        try self.init(validating: Array(text.utf8))
    }

    public var description: String { text }

    private static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x1F || (0x7F...0x9F).contains(scalar.value)
    }
}
