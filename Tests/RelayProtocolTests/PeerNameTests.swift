import Testing
import RelayProtocol

/// The name rules of PROTOCOL.md section 1: 1 to 32 bytes of valid UTF-8, no control
/// characters (U+0000–U+001F, U+007F–U+009F), no leading or trailing white space,
/// compared byte for byte.
struct PeerNameTests {
    static let validNames: [String] = [
        "a", "bob", "Alice_42", "zoë", "名前", "🦊", "a b", "x y z",
        String(repeating: "a", count: 32),  // exactly 32 bytes
        String(repeating: "é", count: 16),  // 16 characters, exactly 32 bytes
        String(repeating: "🦊", count: 8),  // 8 characters, exactly 32 bytes
        "a\u{00A0}b",  // white space inside is fine
        "\u{00A1}",  // just above the C1 control range
        "~",  // just below U+007F
        "e\u{301}",  // a combining mark, not white space
    ]

    @Test(arguments: validNames)
    func validName(_ text: String) throws {
        let name = try PeerName(validating: text)
        #expect(name.bytes == Array(text.utf8))
        #expect(name.text == text)
        #expect(name.description == text)
        // The same bytes give the same name.
        #expect(try PeerName(validating: Array(text.utf8)) == name)
    }

    @Test func lengthLimitsInBytes() {
        #expect(Array(String(repeating: "a", count: 32).utf8).count == 32)
        #expect(Array(String(repeating: "é", count: 16).utf8).count == 32)
        #expect(Array(String(repeating: "🦊", count: 8).utf8).count == 32)
    }

    static let invalidTexts: [(String, PeerName.ValidationError)] = [
        ("", .empty),
        (String(repeating: "a", count: 33), .tooLong(byteCount: 33, limit: 32)),
        // 32 characters, but more than 32 bytes.
        (String(repeating: "a", count: 31) + "é", .tooLong(byteCount: 33, limit: 32)),
        (String(repeating: "é", count: 32), .tooLong(byteCount: 64, limit: 32)),
        (String(repeating: "名", count: 11), .tooLong(byteCount: 33, limit: 32)),
        // One of each control class, at the start, inside and at the end.
        ("\u{0000}", .controlCharacter),
        ("a\u{0000}b", .controlCharacter),
        ("a\u{001F}", .controlCharacter),
        ("\u{001B}[2Jbob", .controlCharacter),
        ("a\u{007F}b", .controlCharacter),
        ("\u{0080}a", .controlCharacter),
        ("a\u{009F}b", .controlCharacter),
        ("a\u{0085}b", .controlCharacter),  // NEL: a C1 control that is also white space
        ("a\tb", .controlCharacter),
        ("a\nb", .controlCharacter),
        ("a\r\nb", .controlCharacter),
        // Tab and newline at either end: control characters (and white space).
        ("\tbob", .controlCharacter),
        ("bob\n", .controlCharacter),
        // White space at either end.
        (" bob", .surroundingWhitespace),
        ("bob ", .surroundingWhitespace),
        (" ", .surroundingWhitespace),
        ("\u{00A0}bob", .surroundingWhitespace),
        ("bob\u{00A0}", .surroundingWhitespace),
        ("\u{3000}名前", .surroundingWhitespace),
        ("名前\u{3000}", .surroundingWhitespace),
        ("\u{2003}a", .surroundingWhitespace),  // em space
        ("a\u{2028}", .invisibleCharacter),  // line separator (contract section 1)
        ("a\u{2028}b", .invisibleCharacter),
        ("a\u{2029}b", .invisibleCharacter),  // paragraph separator
        ("\u{202E}bob", .invisibleCharacter),  // right-to-left override
        ("a\u{2066}b", .invisibleCharacter),  // left-to-right isolate
        ("bo\u{200B}b", .invisibleCharacter),  // zero-width space
        ("bo\u{200D}b", .invisibleCharacter),  // zero-width joiner
        ("👩‍💻 dev", .invisibleCharacter),  // an emoji ZWJ sequence holds U+200D, a format character
        ("\u{FEFF}bob", .invisibleCharacter),  // byte order mark
        ("a\u{00AD}b", .invisibleCharacter),  // soft hyphen (Cf)
    ]

    @Test(arguments: invalidTexts)
    func invalidName(_ text: String, _ error: PeerName.ValidationError) {
        #expect(throws: error) { try PeerName(validating: text) }
        #expect(throws: error) { try PeerName(validating: Array(text.utf8)) }
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xFF],
        [0x61, 0xFE, 0x62],
        [0x61, 0xC3],  // truncated two-byte sequence
        [0xE5, 0x90],  // truncated three-byte sequence
        [0xF0, 0x9F, 0xA6],  // truncated four-byte sequence
        [0xC3, 0x28],  // bad continuation byte
        [0x80],  // lone continuation byte
        [0xC0, 0x80],  // overlong U+0000
        [0xC1, 0xBF],  // overlong U+007F
        [0xE0, 0x80, 0xAF],  // overlong "/"
        [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
    ]

    @Test(arguments: invalidUTF8)
    func invalidUTF8Refused(_ bytes: [UInt8]) {
        #expect(throws: PeerName.ValidationError.invalidUTF8) { try PeerName(validating: bytes) }
    }

    @Test func tooLongIsJudgedBeforeTheContent() {
        // 33 bytes of invalid UTF-8: too long first (the server need not look inside).
        #expect(throws: PeerName.ValidationError.tooLong(byteCount: 33, limit: 32)) {
            try PeerName(validating: [UInt8](repeating: 0xFF, count: 33))
        }
    }

    /// NFC "é" and NFD "e + U+0301" look the same but are different names: byte for byte.
    @Test func namesCompareByteForByte() throws {
        let composed = try PeerName(validating: "caf\u{E9}")
        let decomposed = try PeerName(validating: "cafe\u{301}")
        #expect(composed.bytes == [0x63, 0x61, 0x66, 0xC3, 0xA9])
        #expect(decomposed.bytes == [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81])
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
        #expect(try PeerName(validating: "Bob") != PeerName(validating: "bob"))
        #expect(try PeerName(validating: "bob") == PeerName(validating: [0x62, 0x6F, 0x62]))
    }

    @Test func legacyLimitIsConfigurable() throws {
        let longest = [UInt8](repeating: 0x61, count: 255)
        #expect(try PeerName(validating: longest, maximumByteCount: 255).bytes == longest)
        #expect(throws: PeerName.ValidationError.tooLong(byteCount: 256, limit: 255)) {
            try PeerName(validating: longest + [0x61], maximumByteCount: 255)
        }
    }

    @Test func everyErrorHasAReason() {
        let errors: [PeerName.ValidationError] = [
            .empty, .tooLong(byteCount: 33, limit: 32), .invalidUTF8, .controlCharacter, .invisibleCharacter,
            .surroundingWhitespace,
        ]
        let reasons = errors.map(\.reason)
        #expect(Set(reasons).count == errors.count)
        #expect(reasons.allSatisfy { !$0.isEmpty })
        #expect(PeerName.ValidationError.tooLong(byteCount: 33, limit: 32).reason.contains("33"))
    }
}
