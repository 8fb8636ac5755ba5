import Testing
import RelayProtocol

/// Every frame type both ways: the encoder writes exactly the bytes of PROTOCOL.md
/// section 1 (written out here by hand), and decoding them gives the frame back.
struct FrameRoundTripTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let frame: Frame
        let wire: [UInt8]
        var testDescription: String { name }
    }

    /// 00 01 02 ... 1f, the session key in the WELCOME vectors.
    static let key: [UInt8] = Array(0...31)

    static let vectors: [Vector] = [
        Vector(name: "HELLO bob", frame: .hello(name: Array("bob".utf8)),
               wire: wire("00 00 00 06  01  01 03 62 6f 62")),
        Vector(name: "HELLO zoë (multi-byte name)", frame: .hello(name: Array("zoë".utf8)),
               wire: wire("00 00 00 07  01  01 04 7a 6f c3 ab")),
        // HELLO does not judge the name; the server answers INVALID_NAME for it.
        Vector(name: "HELLO with an empty name", frame: .hello(name: []),
               wire: wire("00 00 00 03  01  01 00")),
        Vector(name: "WELCOME without a peer",
               frame: .welcome(sessionKey: key, maxFrame: 1_048_576, peer: []),
               wire: wire("00 00 00 26  02  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f  00 10 00 00  00")),
        Vector(name: "WELCOME with peer alice",
               frame: .welcome(sessionKey: key, maxFrame: 1_048_576, peer: Array("alice".utf8)),
               wire: wire("00 00 00 2b  02  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f  00 10 00 00  05 61 6c 69 63 65")),
        Vector(name: "WELCOME maxFrame is big-endian",
               frame: .welcome(sessionKey: [UInt8](repeating: 0xAA, count: 32), maxFrame: 0x0102_0304, peer: Array("名前".utf8)),
               wire: wire("00 00 00 2c  02  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  01 02 03 04  06 e5 90 8d e5 89 8d")),
        Vector(name: "PEER_JOINED alice", frame: .peerJoined(name: Array("alice".utf8)),
               wire: wire("00 00 00 06  03  61 6c 69 63 65")),
        Vector(name: "PEER_LEFT bob", frame: .peerLeft(name: Array("bob".utf8)),
               wire: wire("00 00 00 04  04  62 6f 62")),
        Vector(name: "PEER_JOINED with a 32-byte name", frame: .peerJoined(name: [UInt8](repeating: 0x7A, count: 32)),
               wire: wire("00 00 00 21  03") + [UInt8](repeating: 0x7A, count: 32)),
        Vector(name: "DATA empty", frame: .data([]),
               wire: wire("00 00 00 01  10")),
        Vector(name: "DATA 4 bytes", frame: .data([0xDE, 0xAD, 0xBE, 0xEF]),
               wire: wire("00 00 00 05  10  de ad be ef")),
        Vector(name: "PING empty", frame: .ping([]),
               wire: wire("00 00 00 01  20")),
        Vector(name: "PING 64 bytes", frame: .ping(Array(0...63)),
               wire: wire("00 00 00 41  20") + Array(0...63)),
        Vector(name: "PONG empty", frame: .pong([]),
               wire: wire("00 00 00 01  21")),
        Vector(name: "PONG 3 bytes", frame: .pong([1, 2, 3]),
               wire: wire("00 00 00 04  21  01 02 03")),
        Vector(name: "PONG 64 bytes", frame: .pong([UInt8](repeating: 0xFF, count: 64)),
               wire: wire("00 00 00 41  21") + [UInt8](repeating: 0xFF, count: 64)),
        Vector(name: "BYE", frame: .bye,
               wire: wire("00 00 00 01  30")),
        Vector(name: "ERROR relay full with its text", frame: .error(code: 5, message: "relay full"),
               wire: wire("00 00 00 0d  7f  00 05  72 65 6c 61 79 20 66 75 6c 6c")),
        Vector(name: "ERROR with an empty message", frame: .error(code: 1, message: ""),
               wire: wire("00 00 00 03  7f  00 01")),
        Vector(name: "ERROR with a multi-byte message", frame: .error(code: 4, message: "zoë"),
               wire: wire("00 00 00 07  7f  00 04  7a 6f c3 ab")),
        // An unknown code still parses: the row only says code:u16.
        Vector(name: "ERROR with a code the table lacks", frame: .error(code: 0xABCD, message: "?"),
               wire: wire("00 00 00 04  7f  ab cd  3f")),
    ]

    @Test(arguments: vectors)
    func encodesToTheSpecBytes(_ vector: Vector) {
        #expect(vector.frame.encoded() == vector.wire)
    }

    @Test(arguments: vectors)
    func decoderGivesTheFrameBack(_ vector: Vector) throws {
        var decoder = FrameDecoder()
        decoder.append(vector.frame.encoded())
        #expect(try decoder.next() == vector.frame)
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test(arguments: vectors)
    func bodyDecodesOnItsOwn(_ vector: Vector) throws {
        let type = try #require(FrameType(rawValue: vector.wire[4]))
        #expect(type == vector.frame.type)
        #expect(decodeBody(type: type, Array(vector.wire[5...])) == .success(vector.frame))
    }

    /// The spec's code table, written out by hand: each code as an ERROR "x".
    static let errorVectors: [(RelayErrorCode, [UInt8])] = [
        (.malformed, wire("00 00 00 04  7f  00 01  78")),
        (.unsupportedVersion, wire("00 00 00 04  7f  00 02  78")),
        (.invalidName, wire("00 00 00 04  7f  00 03  78")),
        (.nameTaken, wire("00 00 00 04  7f  00 04  78")),
        (.relayFull, wire("00 00 00 04  7f  00 05  78")),
        (.frameTooLarge, wire("00 00 00 04  7f  00 06  78")),
        (.handshakeTimeout, wire("00 00 00 04  7f  00 07  78")),
        (.unexpectedFrame, wire("00 00 00 04  7f  00 08  78")),
        (.shuttingDown, wire("00 00 00 04  7f  00 09  78")),
        (.busy, wire("00 00 00 04  7f  00 0a  78")),
    ]

    @Test func errorVectorsCoverEveryCode() {
        #expect(Set(Self.errorVectors.map(\.0)) == Set(RelayErrorCode.allCases))
    }

    @Test(arguments: errorVectors)
    func errorFrameForEachCode(_ code: RelayErrorCode, _ expected: [UInt8]) throws {
        let frame = Frame.error(code, "x")
        #expect(frame == .error(code: code.rawValue, message: "x"))
        #expect(frame.encoded() == expected)
        var decoder = FrameDecoder()
        decoder.append(expected)
        let decoded = try decoder.next()
        #expect(decoded == frame)
        guard case .error(let raw, _)? = decoded else { return }
        #expect(RelayErrorCode(rawValue: raw) == code)
    }

    /// DATA with a body of 1 MiB - 1: length field = 1 MiB = the default limit, accepted.
    @Test func largestDataAtTheDefaultLimit() throws {
        let body = (0..<1_048_575).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let frame = Frame.data(body)
        let bytes = frame.encoded()
        #expect(bytes.count == 5 + 1_048_575)
        #expect(Array(bytes[..<5]) == wire("00 10 00 00  10"))
        #expect(bytes[5...].elementsEqual(body))

        var decoder = FrameDecoder()
        #expect(decoder.maxFrame == specDefaultMaxFrame)
        decoder.append(bytes)
        let decoded = try #require(try decoder.next())
        #expect(decoded == frame)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func encodeIntoAppendsWithoutClearing() {
        var buffer: [UInt8] = [0xEE]
        Frame.bye.encode(into: &buffer)
        Frame.ping([9]).encode(into: &buffer)
        #expect(buffer == wire("ee  00 00 00 01 30  00 00 00 02 20 09"))
    }

    @Test(arguments: [0, 1, 3, 100_000])
    func dataHeaderWrittenAheadMatchesTheEncoder(_ bodyCount: Int) {
        let body = [UInt8](repeating: 0x5A, count: bodyCount)
        var buffer: [UInt8] = []
        Frame.appendDataHeader(bodyCount: bodyCount, to: &buffer)
        #expect(buffer.count == 5)
        #expect(buffer == rawFrame(length: UInt32(1 + bodyCount), type: 0x10))
        buffer += body
        #expect(buffer == Frame.data(body).encoded())
    }

    @Test func typeBytesMatchTheSpecTable() {
        let expected: [(Frame, UInt8)] = [
            (.hello(name: []), 0x01), (.welcome(sessionKey: [], maxFrame: 0, peer: []), 0x02),
            (.peerJoined(name: []), 0x03), (.peerLeft(name: []), 0x04), (.data([]), 0x10),
            (.dataFrom(name: [], sealed: []), 0x11),
            (.ping([]), 0x20), (.pong([]), 0x21), (.bye, 0x30), (.error(code: 0, message: ""), 0x7F),
        ]
        for (frame, byte) in expected {
            #expect(frame.type.rawValue == byte, "\(frame)")
        }
        #expect(FrameType.allCases.count == expected.count)
    }
}
