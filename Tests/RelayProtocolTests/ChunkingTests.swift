import Testing
import RelayProtocol

/// The swift-nio ByteToMessageDecoderVerifier idea: one byte stream, cut into appends in
/// every way (whole, byte by byte, at each split point, random chunks), must decode to
/// exactly the same frames, and a stream ending in a malformed frame to the same frames
/// followed by the same error.
struct ChunkingTests {
    /// A deterministic mix of every valid frame type, with varied sizes.
    static func mixedFrames(count: Int, seed: UInt64, largestData: Int) -> [Frame] {
        var generator = SeededGenerator(seed: seed)
        let names = ["a", "bob", "zoë", "名前", "🦊 fox", "a b", String(repeating: "x", count: 32)].map { Array($0.utf8) }
        let messages = ["", "relay full", "zoë: name taken", "名前 \u{1F98A}"]
        return (0..<count).map { index in
            func some(_ maximum: Int) -> [UInt8] {
                randomBytes(Int.random(in: 0...maximum, using: &generator), using: &generator)
            }
            let name = names[Int.random(in: 0..<names.count, using: &generator)]
            switch index % 10 {
            case 0: return .hello(name: Int.random(in: 0..<4, using: &generator) == 0 ? some(255) : name)
            case 1: return .welcome(sessionKey: randomBytes(32, using: &generator),
                                    maxFrame: UInt32.random(in: 1...UInt32.max, using: &generator),
                                    peer: Bool.random(using: &generator) ? name : [])
            case 2: return .peerJoined(name: name)
            case 3: return .peerLeft(name: name)
            case 4, 5: return .data(some(largestData))
            case 6: return .ping(some(64))
            case 7: return .pong(some(64))
            case 8: return .bye
            default: return .error(code: UInt16.random(in: 0...UInt16.max, using: &generator),
                                   message: messages[Int.random(in: 0..<messages.count, using: &generator)])
            }
        }
    }

    static func stream(_ frames: [Frame]) -> [UInt8] {
        var bytes: [UInt8] = []
        for frame in frames { frame.encode(into: &bytes) }
        return bytes
    }

    /// A malformed ending: the decoder must stop with `error`, whatever follows.
    struct BadTail: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let error: ProtocolError
        var testDescription: String { name }
    }

    static let badTails: [BadTail] = [
        BadTail(name: "length 0", bytes: wire("00 00 00 00  30"), error: .frameTooLarge(length: 0, limit: 1_048_576)),
        BadTail(name: "length maxFrame + 1", bytes: wire("00 10 00 01  10  00 00"),
                error: .frameTooLarge(length: 1_048_577, limit: 1_048_576)),
        BadTail(name: "unknown type 0x05", bytes: wire("00 00 00 02  05  00"), error: .unknownType(0x05)),
        BadTail(name: "PING of 65 bytes", bytes: rawFrame(type: 0x20, body: Array(repeating: 1, count: 65)), error: .malformedBody(.ping)),
        BadTail(name: "BYE with a body", bytes: wire("00 00 00 02  30  00"), error: .malformedBody(.bye)),
        BadTail(name: "HELLO nameLen too long", bytes: wire("00 00 00 06  01  01 09 62 6f 62"), error: .malformedBody(.hello)),
        BadTail(name: "HELLO version 3", bytes: wire("00 00 00 03  01  03 00"), error: .unsupportedVersion(3)),
        BadTail(name: "PEER_LEFT invalid UTF-8", bytes: wire("00 00 00 03  04  c0 80"), error: .malformedBody(.peerLeft)),
        BadTail(name: "ERROR with a 1-byte body", bytes: wire("00 00 00 02  7f  00"), error: .malformedBody(.error)),
    ]

    static let seeds: [UInt64] = [1, 2, 3, 42, 0xDEAD_BEEF, 0x5EED_0000_0000_0001]

    // MARK: A long stream

    static let longFrames = mixedFrames(count: 400, seed: 7, largestData: 3_000)
    static let longStream = stream(longFrames)

    @Test func longStreamWhole() {
        #expect(Self.longStream.count > 100_000)
        #expect(decode(Chunking.whole(Self.longStream)) == DecodeOutcome(frames: Self.longFrames))
    }

    @Test func longStreamByteByByte() {
        #expect(decode(Chunking.byteByByte(Self.longStream)) == DecodeOutcome(frames: Self.longFrames))
    }

    @Test(arguments: seeds)
    func longStreamInRandomChunks(_ seed: UInt64) {
        let chunks = Chunking.random(Self.longStream, seed: seed, maximum: 5_000)
        #expect(chunks.count > 100)
        #expect(decode(chunks) == DecodeOutcome(frames: Self.longFrames))
    }

    /// `bufferedByteCount` counts the bytes of a frame not yet complete, and drops to 0
    /// once every frame is out.
    @Test func bufferedByteCountFollowsPartialFrames() throws {
        let bytes = Self.stream([.bye, .ping([1, 2, 3]), .data(Array(repeating: 9, count: 100))])
        var decoder = FrameDecoder()
        decoder.append(bytes[..<3])
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 3)
        decoder.append(bytes[3..<12])  // the rest of the BYE (5 bytes), 7 of the PING's 8
        #expect(try decoder.next() == .bye)
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 7)
        decoder.append(bytes[12...])
        #expect(try decoder.next() == .ping([1, 2, 3]))
        #expect(try decoder.next() == .data(Array(repeating: 9, count: 100)))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    /// A stream cut inside its last frame keeps those bytes, however it was chunked.
    @Test(arguments: seeds)
    func truncatedStreamKeepsTheTail(_ seed: UInt64) {
        let complete = Array(Self.longFrames.prefix(50))
        let bytes = Self.stream(complete) + Array(Frame.data(Array(repeating: 4, count: 500)).encoded().prefix(123))
        let expected = DecodeOutcome(frames: complete, leftoverByteCount: 123)
        #expect(decode(Chunking.whole(bytes)) == expected)
        #expect(decode(Chunking.random(bytes, seed: seed, maximum: 700)) == expected)
    }

    // MARK: Large DATA frames

    @Test(arguments: [UInt64(11), 12, 13])
    func largestDataFramesInRandomChunks(_ seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let frames: [Frame] = [
            .data(randomBytes(1_048_575, using: &generator)), .ping([7]),
            .data(randomBytes(1_048_575, using: &generator)), .bye,
        ]
        let bytes = Self.stream(frames)
        #expect(decode(Chunking.random(bytes, seed: seed, maximum: 65_536)) == DecodeOutcome(frames: frames))
        #expect(decode(Chunking.split(bytes, at: 1, 1_048_580, 1_048_581, 1_048_587)) == DecodeOutcome(frames: frames))
    }

    // MARK: A short stream, split at every point

    /// One of each frame type, small enough to try every cut.
    static let shortFrames: [Frame] = [
        .hello(name: Array("zoë".utf8)),
        .welcome(sessionKey: Array(0...31), maxFrame: 1_048_576, peer: Array("名前".utf8)),
        .peerJoined(name: Array("alice".utf8)), .data([]), .data(Array(0...40)), .ping([]),
        .ping([1, 2]), .pong([3]), .peerLeft(name: Array("alice".utf8)),
        .error(code: 9, message: "bye now"), .bye,
    ]
    static let shortStream = stream(shortFrames)

    @Test func shortStreamSplitAtEveryByte() {
        let expected = DecodeOutcome(frames: Self.shortFrames)
        for cut in 0...Self.shortStream.count {
            let outcome = decode(Chunking.split(Self.shortStream, at: cut))
            #expect(outcome == expected, "cut at \(cut)")
        }
    }

    @Test func shortStreamSplitAtEveryPairOfPoints() {
        let expected = DecodeOutcome(frames: Self.shortFrames)
        let count = Self.shortStream.count
        var mismatches: [String] = []
        for first in 0...count {
            for second in first...count where decode(Chunking.split(Self.shortStream, at: first, second)) != expected {
                mismatches.append("\(first),\(second)")
            }
        }
        #expect(mismatches.isEmpty)
    }

    @Test func shortStreamByteByByteAndWhole() {
        #expect(decode(Chunking.whole(Self.shortStream)) == DecodeOutcome(frames: Self.shortFrames))
        #expect(decode(Chunking.byteByByte(Self.shortStream)) == DecodeOutcome(frames: Self.shortFrames))
    }

    // MARK: Streams ending in a malformed frame

    @Test(arguments: badTails)
    func malformedTailAfterValidFrames(_ tail: BadTail) {
        // Bytes after the bad frame must not matter: the stream has lost its framing.
        let bytes = Self.shortStream + tail.bytes + Frame.bye.encoded() + [0xFF, 0x00]
        let expected = DecodeOutcome(frames: Self.shortFrames, error: tail.error)
        #expect(decode(Chunking.whole(bytes)) == expected)
        #expect(decode(Chunking.byteByByte(bytes)) == expected)
        for seed in Self.seeds {
            #expect(decode(Chunking.random(bytes, seed: seed, maximum: 64)) == expected, "seed \(seed)")
        }
        var mismatches: [Int] = []
        for cut in 0...bytes.count where decode(Chunking.split(bytes, at: cut)) != expected {
            mismatches.append(cut)
        }
        #expect(mismatches.isEmpty, "cuts: \(mismatches)")
    }

    @Test(arguments: seeds)
    func longStreamEndingInAMalformedFrame(_ seed: UInt64) {
        for tail in Self.badTails {
            let bytes = Self.longStream + tail.bytes
            let expected = DecodeOutcome(frames: Self.longFrames, error: tail.error)
            #expect(decode(Chunking.random(bytes, seed: seed, maximum: 5_000)) == expected, "\(tail.name)")
        }
    }

    /// Once failed, the decoder does not resume at a later frame boundary.
    @Test func noResynchronisationAfterAnError() throws {
        var decoder = FrameDecoder()
        decoder.append(Self.stream([.bye]) + wire("00 00 00 01  05") + Self.stream([.ping([]), .bye]))
        #expect(try decoder.next() == .bye)
        for _ in 0..<3 {
            #expect(throws: ProtocolError.unknownType(0x05)) { try decoder.next() }
        }
    }
}
