import Testing
import RelayProtocol

/// PROTOCOL.md sections 1 and 2: frames the relay refuses. UNEXPECTED_FRAME for a valid
/// frame at the wrong time, MALFORMED for one that does not parse, FRAME_TOO_LARGE from
/// the 5-byte header alone. Each is fatal to its own connection only: the other peer
/// sees PEER_LEFT and nothing else.
struct FrameRefusalTests {
    static let key = [UInt8](repeating: 0x42, count: 32)

    static let beforeHello: [(String, Frame)] = [
        ("DATA", .data([1, 2, 3])),
        ("empty DATA", .data([])),
        ("PING", .ping([1])),
        ("PONG", .pong([])),
        ("BYE", .bye),
        ("WELCOME", .welcome(sessionKey: key, maxFrame: 1024, peer: [])),
        ("PEER_JOINED", .peerJoined(name: Array("x".utf8))),
        ("PEER_LEFT", .peerLeft(name: Array("x".utf8))),
        ("ERROR", .error(code: 1, message: "no")),
    ]

    static let afterJoining: [(String, Frame)] = [
        ("a second HELLO", .hello(name: Array("mallory".utf8))),
        ("the same HELLO again", .hello(name: Array("mallory".utf8))),
        ("WELCOME", .welcome(sessionKey: key, maxFrame: 1024, peer: Array("alice".utf8))),
        ("PEER_JOINED", .peerJoined(name: Array("x".utf8))),
        ("PEER_LEFT", .peerLeft(name: Array("x".utf8))),
        ("ERROR", .error(code: 9, message: "bye")),
    ]

    @Test func validFramesAtTheWrongTimeGetUnexpectedFrame() throws {
        try withRelayServer { server in
            try Self.expectRefusals(.unexpectedFrame, server: server,
                                    beforeHello: Self.beforeHello.map { ($0, $1.encoded()) },
                                    afterJoining: Self.afterJoining.map { ($0, $1.encoded()) })
        }
    }

    /// Each case on a fresh connection, before HELLO and then after joining beside alice,
    /// must be refused with `code`; alice sees only mallory's PEER_JOINED and PEER_LEFT.
    static func expectRefusals(
        _ code: RelayErrorCode, server: RelayServerProcess,
        beforeHello: [(String, [UInt8])], afterJoining: [(String, [UInt8])],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (alice, _) = try server.join("alice")
        for (label, bytes) in beforeHello {
            let client = try server.connect()
            try client.send(bytes)
            try expectRefusal(client, code, "\(label) before HELLO", sourceLocation: sourceLocation)
        }
        try expectNothingPending(alice, "refusals before HELLO", sourceLocation: sourceLocation)

        for (label, bytes) in afterJoining {
            let (mallory, _) = try server.join("mallory")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("mallory".utf8)), sourceLocation: sourceLocation)
            try mallory.send(bytes)
            try expectRefusal(mallory, code, "\(label) after joining", sourceLocation: sourceLocation)
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("mallory".utf8)), "\(label)", sourceLocation: sourceLocation)
        }
        try expectNothingPending(alice, "refusals after joining", sourceLocation: sourceLocation)
    }

    static let malformed: [(String, [UInt8])] = [
        ("unknown type 0x00", rawFrame(type: 0x00, body: [1, 2])),
        ("unknown type 0x05", rawFrame(type: 0x05)),
        ("unknown type 0x12", rawFrame(type: 0x12, body: [0])),
        ("unknown type 0x7E", rawFrame(type: 0x7E)),
        ("unknown type 0xFF", rawFrame(type: 0xFF, body: Array(repeating: 0xFF, count: 100))),
        ("HELLO without a body", rawFrame(type: 0x01)),
        ("HELLO without nameLen", rawFrame(type: 0x01, body: [1])),
        ("HELLO nameLen longer than the name", rawFrame(type: 0x01, body: [1, 6] + Array("alice".utf8))),
        ("HELLO nameLen shorter than the name", rawFrame(type: 0x01, body: [1, 4] + Array("alice".utf8))),
        ("BYE with a body", rawFrame(type: 0x30, body: [0])),
        ("PING of 65 bytes", rawFrame(type: 0x20, body: Array(repeating: 1, count: 65))),
        ("PONG of 65 bytes", rawFrame(type: 0x21, body: Array(repeating: 1, count: 65))),
        ("WELCOME too short", rawFrame(type: 0x02, body: Array(repeating: 0, count: 36))),
        ("WELCOME peerLen past the end", rawFrame(type: 0x02, body: Array(repeating: 0, count: 36) + [3, 0x61])),
        ("PEER_JOINED with an empty name", rawFrame(type: 0x03)),
        ("PEER_LEFT with an invalid name", rawFrame(type: 0x04, body: [0xFF])),
        ("ERROR without a full code", rawFrame(type: 0x7F, body: [0])),
        ("ERROR with invalid UTF-8", rawFrame(type: 0x7F, body: [0, 1, 0xFF])),
    ]

    /// Before HELLO only unknown types and HELLOs that do not parse are MALFORMED; a
    /// known type other than HELLO is UNEXPECTED_FRAME whatever its body (section 6,
    /// "Before HELLO").
    @Test func framesThatDoNotParseGetMalformed() throws {
        try withRelayServer { server in
            try Self.expectRefusals(.malformed, server: server,
                                    beforeHello: Self.malformed.filter { $0.0.hasPrefix("unknown") || $0.0.hasPrefix("HELLO") },
                                    afterJoining: Self.malformed.filter { !$0.0.hasPrefix("HELLO") })
        }
    }

    /// Section 6, "Before HELLO": the header alone decides, so only the 5-byte header is
    /// sent and the answer must come without the body (the relay never holds it).
    static let headersBeforeHello: [(String, [UInt8], RelayErrorCode)] = [
        ("DATA of maxFrame", rawFrame(type: 0x10, length: 4096), .unexpectedFrame),
        ("ERROR of maxFrame", rawFrame(type: 0x7F, length: 4096), .unexpectedFrame),
        ("PING of 200 bytes", rawFrame(type: 0x20, length: 201), .unexpectedFrame),
        ("BYE with a body", rawFrame(type: 0x30, length: 2), .unexpectedFrame),
        ("unknown type, long", rawFrame(type: 0x99, length: 4000), .malformed),
        ("HELLO of 101", rawFrame(type: 0x01, length: 101), .frameTooLarge),
        ("HELLO of maxFrame", rawFrame(type: 0x01, length: 4096), .frameTooLarge),
    ]

    @Test func theFirstFrameIsJudgedFromItsHeaderAlone() throws {
        try withRelayServer(["--max-frame", "4096"]) { server in
            let (alice, _) = try server.join("alice")
            for (label, header, code) in Self.headersBeforeHello {
                #expect(header.count == 5)
                let client = try server.connect()
                try client.send(header)
                try expectRefusal(client, code, "\(label), header only")
            }
            // A HELLO of exactly 100 is awaited whole and then parsed (a version 1 body
            // with 92 bytes too many: MALFORMED, not FRAME_TOO_LARGE).
            let longest = try server.connect()
            let body = [1, 5] + Array("carol".utf8) + Array(repeating: UInt8(7), count: 92)
            #expect(body.count == 99)
            try longest.send(rawFrame(type: 0x01, body: body))
            try expectRefusal(longest, .malformed, "a HELLO of 100 bytes that does not parse")
            try expectNothingPending(alice, "refusals before HELLO")
        }
    }

    /// Only the 5-byte header is sent: the ERROR must come without the body.
    static let oversizedHeaders: [(String, [UInt8])] = [
        ("length maxFrame + 1, DATA", rawFrame(type: 0x10, length: 4097)),
        ("length 0", rawFrame(type: 0x10, length: 0)),
        ("length 0xFFFFFFFF, HELLO", rawFrame(type: 0x01, length: 0xFFFF_FFFF)),
        ("length 2^31, unknown type", rawFrame(type: 0x99, length: 0x8000_0000)),
    ]

    @Test func oversizedFramesAreRefusedFromTheHeaderAlone() throws {
        try withRelayServer(["--max-frame", "4096"]) { server in
            for (label, header) in Self.oversizedHeaders {
                #expect(header.count == 5)
                let client = try server.connect()
                try client.send(header)
                try expectRefusal(client, .frameTooLarge, "\(label) before HELLO")
            }

            let (alice, welcome) = try server.join("alice")
            #expect(welcome.maxFrame == 4096)
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            // Exactly maxFrame is allowed and forwarded.
            let largest = numberedBody(1, count: 4095)
            try alice.send(.data(largest))
            #expect(try bob.receiveFrame() == .data(largest))

            // One byte more, header only.
            try alice.send(rawFrame(type: 0x10, length: 4097))
            try expectRefusal(alice, .frameTooLarge, "after joining")
            #expect(try bob.receiveFrame() == .peerLeft(name: Array("alice".utf8)))
            try expectNothingPending(bob)
        }
    }
}

/// DATA accepted before a fatal error still reaches the peer (nothing accepted is
/// dropped while the session lasts), then PEER_LEFT.
struct ErrorAfterDataTests {
    @Test func dataBeforeAFatalErrorIsDeliveredFirst() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            var bytes: [UInt8] = []
            for index in 0..<5 { Frame.data(numberedBody(index, count: 100)).encode(into: &bytes) }
            bytes += rawFrame(type: 0x05, body: [1])  // unknown type, same write
            try alice.send(bytes)
            try expectRefusal(alice, .malformed)
            for index in 0..<5 { #expect(try bob.receiveFrame() == .data(numberedBody(index, count: 100))) }
            #expect(try bob.receiveFrame() == .peerLeft(name: Array("alice".utf8)))
        }
    }
}
