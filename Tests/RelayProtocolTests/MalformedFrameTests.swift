import Testing
import RelayProtocol

/// Every malformed case of PROTOCOL.md section 1: the right error, the right ERROR code,
/// refused as early as the spec allows (from the header, without waiting for a body), and
/// the decoder stays failed afterwards.
struct MalformedFrameTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let error: ProtocolError
        /// How many bytes the decoder holds when it refuses: 4 when the length alone
        /// decides, 5 when the header does, the whole frame when the body does.
        let refusedAfter: Int
        /// The ERROR code from the spec's table (MALFORMED=1, UNSUPPORTED_VERSION=2,
        /// FRAME_TOO_LARGE=6), written out by hand.
        let codeValue: UInt16
        /// Whether the body (not the header) decides, so `Frame.decode(type:body:)` refuses it too.
        var decidedByBody = false
        var testDescription: String { name }

        static func tooLarge(_ name: String, _ bytes: [UInt8], length: UInt32) -> Case {
            Case(name: name, bytes: bytes, error: .frameTooLarge(length: length, limit: 1_048_576),
                 refusedAfter: 4, codeValue: 6)
        }

        static func unknown(_ name: String, _ bytes: [UInt8], type: UInt8) -> Case {
            Case(name: name, bytes: bytes, error: .unknownType(type), refusedAfter: 5, codeValue: 1)
        }

        /// Refused from the 5-byte header: the body is longer than the type allows.
        static func header(_ name: String, _ bytes: [UInt8], _ type: FrameType) -> Case {
            Case(name: name, bytes: bytes, error: .malformedBody(type), refusedAfter: 5, codeValue: 1)
        }

        /// Refused once the whole frame is in: the body does not match its row.
        static func body(_ name: String, _ bytes: [UInt8], _ type: FrameType) -> Case {
            Case(name: name, bytes: bytes, error: .malformedBody(type), refusedAfter: bytes.count, codeValue: 1,
                 decidedByBody: true)
        }

        static func version(_ name: String, _ bytes: [UInt8], _ version: UInt8) -> Case {
            Case(name: name, bytes: bytes, error: .unsupportedVersion(version), refusedAfter: bytes.count,
                 codeValue: 2, decidedByBody: true)
        }
    }

    static let key = [UInt8](repeating: 0x11, count: 32)
    static let defaultLimit = wire("00 10 00 00")

    static let lengthCases: [Case] = [
        .tooLarge("length 0", wire("00 00 00 00"), length: 0),
        .tooLarge("length 0 followed by a type and bytes", wire("00 00 00 00  10  41 42"), length: 0),
        .tooLarge("length maxFrame + 1", wire("00 10 00 01"), length: 1_048_577),
        .tooLarge("length maxFrame + 1 with a DATA type byte", wire("00 10 00 01  10  00"), length: 1_048_577),
        .tooLarge("length 2^32 - 1", wire("ff ff ff ff  10"), length: 0xFFFF_FFFF),
        .tooLarge("length 2^31 (sign bit)", wire("80 00 00 00  20"), length: 0x8000_0000),
    ]

    static let unknownTypeCases: [Case] = [0x00, 0x05, 0x12, 0x22, 0x31, 0x7E, 0x80, 0xFF].flatMap { (type: UInt8) in
        [
            .unknown("type 0x\(String(type, radix: 16)) without a body", rawFrame(type: type, body: []), type: type),
            .unknown("type 0x\(String(type, radix: 16)) with a body", rawFrame(type: type, body: [1, 2, 3]), type: type),
        ]
    }

    static let helloCases: [Case] = [
        .body("HELLO with an empty body", wire("00 00 00 01  01"), .hello),
        .body("HELLO with a version but no nameLen", wire("00 00 00 02  01  01"), .hello),
        .body("HELLO nameLen shorter than the name", wire("00 00 00 06  01  01 02 62 6f 62"), .hello),
        .body("HELLO nameLen longer than the name", wire("00 00 00 06  01  01 04 62 6f 62"), .hello),
        .body("HELLO nameLen 255, 3 name bytes", wire("00 00 00 06  01  01 ff 62 6f 62"), .hello),
        .body("HELLO nameLen 0 with name bytes", wire("00 00 00 05  01  01 00 62 62"), .hello),
        .header("HELLO body longer than its lengths allow (514 bytes)", rawFrame(type: 0x01, body: [1, 255] + [UInt8](repeating: 0x61, count: 512)), .hello),
        .body("HELLO version 1, 258 bytes", rawFrame(type: 0x01, body: [1, 255] + [UInt8](repeating: 0x61, count: 256)), .hello),
        .version("HELLO version 0", wire("00 00 00 02  01  00"), 0),
        .body("HELLO version 2 without nameLen", wire("00 00 00 02  01  02"), .hello),
        .version("HELLO version 3", wire("00 00 00 02  01  03"), 3),
        .version("HELLO version 0 with a well-formed name", wire("00 00 00 06  01  00 03 62 6f 62"), 0),
        .body("HELLO version 2 with a garbage rest", wire("00 00 00 05  01  02 ff 00 c3"), .hello),
        .body("HELLO version 2, nameLen disagreeing", wire("00 00 00 04  01  02 09 41"), .hello),
        .body("HELLO version 2 without roomLen", wire("00 00 00 04  01  02 01 41"), .hello),
        .body("HELLO version 2, roomLen past the end", wire("00 00 00 06  01  02 01 41 02 07"), .hello),
        .body("HELLO version 2, room of 65", rawFrame(type: 0x01, body: [2, 1, 0x41, 65] + [UInt8](repeating: 7, count: 65)), .hello),
        .version("HELLO version 255", wire("00 00 00 03  01  ff 00"), 255),
    ]

    static let welcomeCases: [Case] = [
        .body("WELCOME with an empty body", wire("00 00 00 01  02"), .welcome),
        .body("WELCOME with a 31-byte key", rawFrame(type: 0x02, body: [UInt8](repeating: 0x11, count: 31) + defaultLimit + [0]), .welcome),
        .body("WELCOME without peerLen", rawFrame(type: 0x02, body: key + defaultLimit), .welcome),
        .body("WELCOME with a short maxFrame", rawFrame(type: 0x02, body: key + [0x10, 0x00]), .welcome),
        .body("WELCOME peerLen 3, peer alice", rawFrame(type: 0x02, body: key + defaultLimit + [3] + Array("alice".utf8)), .welcome),
        .body("WELCOME peerLen 6, peer alice", rawFrame(type: 0x02, body: key + defaultLimit + [6] + Array("alice".utf8)), .welcome),
        .body("WELCOME peerLen 0 with peer bytes", rawFrame(type: 0x02, body: key + defaultLimit + [0, 0x61]), .welcome),
        .body("WELCOME peer is invalid UTF-8", rawFrame(type: 0x02, body: key + defaultLimit + [2, 0xFF, 0xFE]), .welcome),
        .body("WELCOME peer has a control character", rawFrame(type: 0x02, body: key + defaultLimit + [3, 0x61, 0x00, 0x62]), .welcome),
        .body("WELCOME peer starts with a space", rawFrame(type: 0x02, body: key + defaultLimit + [4, 0x20, 0x62, 0x6F, 0x62]), .welcome),
        .header("WELCOME peer of 33 bytes", rawFrame(type: 0x02, body: key + defaultLimit + [33] + [UInt8](repeating: 0x61, count: 33)), .welcome),
    ]

    static let peerNameCases: [Case] = [FrameType.peerJoined, .peerLeft].flatMap { (type: FrameType) -> [Case] in
        let label = type == .peerJoined ? "PEER_JOINED" : "PEER_LEFT"
        let named = { (what: String, name: [UInt8]) in
            Case.body("\(label) \(what)", rawFrame(type: type.rawValue, body: name), type)
        }
        return [
            named("with an empty name", []),
            .header("\(label) with a 33-byte name", rawFrame(type: type.rawValue, body: [UInt8](repeating: 0x61, count: 33)), type),
            named("invalid UTF-8 (ff fe)", [0xFF, 0xFE]),
            named("invalid UTF-8 (truncated c3)", [0x61, 0xC3]),
            named("invalid UTF-8 (overlong c0 80)", [0xC0, 0x80]),
            named("control character U+0000", [0x61, 0x00, 0x62]),
            named("control character U+001B (escape)", [0x61, 0x1B, 0x5B, 0x32, 0x4A]),
            named("control character U+001F", [0x61, 0x1F]),
            named("control character U+007F", [0x7F, 0x61]),
            named("control character U+0080", [0x61, 0xC2, 0x80, 0x62]),
            named("control character U+009F", [0x61, 0xC2, 0x9F]),
            named("newline", [0x61, 0x0A]),
            named("trailing space", [0x61, 0x20]),
            named("leading U+00A0", [0xC2, 0xA0, 0x61]),
        ]
    }

    static let otherCases: [Case] = [
        .header("PING with 65 bytes", rawFrame(type: 0x20, body: [UInt8](repeating: 0, count: 65)), .ping),
        .header("PONG with 65 bytes", rawFrame(type: 0x21, body: [UInt8](repeating: 0, count: 65)), .pong),
        .header("PING announcing 1 MiB - 1 (within maxFrame)", wire("00 10 00 00  20"), .ping),
        .header("BYE with a 1-byte body", wire("00 00 00 02  30  00"), .bye),
        .header("BYE announcing a large body", wire("00 00 10 00  30"), .bye),
        .body("ERROR with an empty body", wire("00 00 00 01  7f"), .error),
        .body("ERROR with a 1-byte body", wire("00 00 00 02  7f  00"), .error),
        .body("ERROR message invalid UTF-8 (c3 28)", wire("00 00 00 05  7f  00 01  c3 28"), .error),
        .body("ERROR message invalid UTF-8 (ff)", wire("00 00 00 04  7f  00 01  ff"), .error),
        .body("ERROR message ends mid-character", wire("00 00 00 06  7f  00 09  61 e2 82"), .error),
        .body("ERROR message has a surrogate", wire("00 00 00 06  7f  00 01  ed a0 80"), .error),
    ]

    static let allCases = lengthCases + unknownTypeCases + helloCases + welcomeCases + peerNameCases + otherCases

    @Test(arguments: allCases)
    func refusedWithTheRightErrorAsEarlyAsPossible(_ malformed: Case) {
        #expect(firstRefusal(feedingByteByByte: malformed.bytes) == Refusal(bytesIn: malformed.refusedAfter, error: malformed.error))
    }

    @Test(arguments: allCases)
    func mapsToTheSpecErrorCode(_ malformed: Case) {
        #expect(malformed.error.code.rawValue == malformed.codeValue)
    }

    @Test(arguments: allCases)
    func decoderStaysFailed(_ malformed: Case) {
        var decoder = FrameDecoder()
        decoder.append(malformed.bytes)
        #expect(throws: malformed.error) { try decoder.next() }
        #expect(throws: malformed.error) { try decoder.next() }
        // Even a well-formed frame appended afterwards does not bring it back.
        decoder.append(Frame.bye.encoded())
        #expect(throws: malformed.error) { try decoder.next() }
    }

    /// Cases the body decides are refused by `Frame.decode(type:body:)` on its own too.
    @Test(arguments: allCases.filter(\.decidedByBody))
    func bodyDecoderRefusesOnItsOwn(_ malformed: Case) throws {
        let type = try #require(FrameType(rawValue: malformed.bytes[4]))
        #expect(decodeBody(type: type, Array(malformed.bytes[5...])) == .failure(malformed.error))
    }

    /// Length 0 is refused from the 4 length bytes alone, before any type byte.
    @Test func lengthZeroRefusedFromFourBytes() throws {
        var decoder = FrameDecoder()
        decoder.append(wire("00 00 00"))
        #expect(try decoder.next() == nil)
        decoder.append(wire("00"))
        #expect(decoder.bufferedByteCount == 4)
        #expect(throws: ProtocolError.frameTooLarge(length: 0, limit: 1_048_576)) { try decoder.next() }
        #expect(ProtocolError.frameTooLarge(length: 0, limit: 1_048_576).code == .frameTooLarge)
    }

    /// maxFrame + 1 is refused from the 4 length bytes alone; nothing else is fed.
    @Test func lengthAboveTheLimitRefusedFromFourBytes() {
        var decoder = FrameDecoder()
        decoder.append(wire("00 10 00 01"))
        #expect(throws: ProtocolError.frameTooLarge(length: 1_048_577, limit: 1_048_576)) { try decoder.next() }
        #expect(throws: ProtocolError.frameTooLarge(length: 1_048_577, limit: 1_048_576)) { try decoder.next() }
    }

    /// A length of exactly maxFrame is a DATA frame like any other: the header waits for
    /// its body, which then decodes.
    @Test(arguments: [UInt32(1_048_576), 2, 100, 4_096])
    func lengthExactlyMaxFrameAccepted(_ maxFrame: UInt32) throws {
        let body = [UInt8](repeating: 0xC4, count: Int(maxFrame) - 1)
        let bytes = rawFrame(type: 0x10, body: body)
        var decoder = FrameDecoder(maxFrame: maxFrame)
        #expect(decoder.maxFrame == maxFrame)
        decoder.append(bytes[..<5])
        #expect(try decoder.next() == nil)
        decoder.append(bytes[5...])
        #expect(try decoder.next() == .data(body))
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func customMaxFrameHonoured() throws {
        // One more than a limit of 16 is refused after 4 bytes, with that limit reported.
        #expect(firstRefusal(feedingByteByByte: rawFrame(type: 0x10, body: Array(repeating: 0, count: 16)), maxFrame: 16)
            == Refusal(bytesIn: 4, error: .frameTooLarge(length: 17, limit: 16)))
        // The same frame is fine under the default limit.
        #expect(decode([rawFrame(type: 0x10, body: Array(repeating: 0, count: 16))]).frames == [.data(Array(repeating: 0, count: 16))])
        // A PING within its own 64-byte bound but above a small maxFrame: the limit wins.
        #expect(firstRefusal(feedingByteByByte: Frame.ping(Array(repeating: 1, count: 20)).encoded(), maxFrame: 16)
            == Refusal(bytesIn: 4, error: .frameTooLarge(length: 21, limit: 16)))
        // A limit above the default lets a longer DATA through.
        let big = [UInt8](repeating: 3, count: 1_048_576)
        #expect(decode([Frame.data(big).encoded()], maxFrame: 2_097_152).frames == [.data(big)])
        #expect(decode([Frame.data(big).encoded()]).error == .frameTooLarge(length: 1_048_577, limit: 1_048_576))
    }

    @Test func errorCodeMappingMatchesTheSpecTable() {
        #expect(ProtocolError.frameTooLarge(length: 0, limit: 1).code.rawValue == 6)
        #expect(ProtocolError.unknownType(0x05).code.rawValue == 1)
        for type in FrameType.allCases {
            #expect(ProtocolError.malformedBody(type).code.rawValue == 1)
        }
        #expect(ProtocolError.unsupportedVersion(2).code.rawValue == 2)
    }
}
