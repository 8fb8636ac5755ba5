import Foundation
import Testing
import RelayProtocol

/// PROTOCOL.md sections 1 and 2: who may join. At most two peers (RELAY_FULL), distinct
/// names (NAME_TAKEN), valid names (INVALID_NAME), version 1 (UNSUPPORTED_VERSION), and a
/// HELLO within the handshake timeout (HANDSHAKE_TIMEOUT). A refusal never disturbs the pair.
struct AdmissionTests {
    @Test func thirdPeerGetsRelayFullWhileThePairKeepsTalking() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            // Connections still in the handshake are not peers: bob still gets in.
            let waiting = try (0..<3).map { _ in try server.connect() }
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            for name in ["carol", "alice", "bob"] {
                let third = try server.connect()
                try third.send(.hello(name: Array(name.utf8)))
                try expectRefusal(third, .relayFull, "third peer named \(name)")
            }
            let latecomer = waiting[0]
            try latecomer.send(.hello(name: Array("dave".utf8)))
            try expectRefusal(latecomer, .relayFull, "a connection that waited before its HELLO")

            try alice.send(.data(Array("still here?".utf8)))
            try bob.send(.data(Array("yes".utf8)))
            #expect(try bob.receiveFrame() == .data(Array("still here?".utf8)))
            #expect(try alice.receiveFrame() == .data(Array("yes".utf8)))
            try expectNothingPending(alice, "alice")
            try expectNothingPending(bob, "bob")
        }
    }

    @Test func sameNameAsTheOtherPeerGetsNameTaken() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let impostor = try server.connect()
            try impostor.send(.hello(name: Array("alice".utf8)))
            try expectRefusal(impostor, .nameTaken)
            try expectNothingPending(alice, "a refused HELLO is not a PEER_JOINED")

            // Names compare byte for byte: "Alice" is another name.
            let (other, welcome) = try server.join("Alice")
            #expect(welcome.peer == "alice")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("Alice".utf8)))

            // Once alice has left, her name is free again.
            try alice.send(.bye)
            try alice.expectEnd()
            #expect(try other.receiveFrame() == .peerLeft(name: Array("alice".utf8)))
            let (_, again) = try server.join("alice")
            #expect(again.peer == "Alice")
        }
    }

    static let invalidNames: [(String, [UInt8])] = [
        ("empty", []),
        ("33 bytes", Array(repeating: UInt8(ascii: "a"), count: 33)),
        ("33 bytes of two-byte characters", Array(String(repeating: "é", count: 16).utf8) + [UInt8(ascii: "x")]),
        ("leading space", Array(" alice".utf8)),
        ("trailing space", Array("alice ".utf8)),
        ("leading tab", Array("\talice".utf8)),
        ("trailing newline", Array("alice\n".utf8)),
        ("leading ideographic space", Array("\u{3000}alice".utf8)),
        ("trailing no-break space", Array("alice\u{00A0}".utf8)),
        ("NUL inside", Array("ali\u{0}ce".utf8)),
        ("U+001F inside", Array("ali\u{1F}ce".utf8)),
        ("DEL inside", Array("ali\u{7F}ce".utf8)),
        ("C1 control U+0085 inside", Array("ali\u{85}ce".utf8)),
        ("C1 control U+009F inside", Array("ali\u{9F}ce".utf8)),
        ("invalid UTF-8 byte", [0x61, 0xFF, 0x62]),
        ("truncated UTF-8 sequence", [0x61, 0xC3]),
        ("encoded surrogate", [0x61, 0xED, 0xA0, 0x80]),
        ("overlong encoding", [0xC0, 0xAF]),
    ]

    @Test func invalidNamesAreRefused() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            for (label, name) in Self.invalidNames {
                let client = try server.connect()
                try client.send(.hello(name: name))
                try expectRefusal(client, .invalidName, label)
            }
            try expectNothingPending(alice)
        }
    }

    @Test(arguments: [
        "a",
        String(repeating: "z", count: 32),
        String(repeating: "é", count: 16),  // 32 bytes
        "zoë", "名前", "mid dle", "emoji 🙂",
    ])
    func validNamesJoin(name: String) throws {
        try withRelayServer { server in
            let (first, welcome) = try server.join(name)
            #expect(welcome.peer == "")
            let (_, second) = try server.join("peer")
            #expect(second.peer == name)
            #expect(try first.receiveFrame() == .peerJoined(name: Array("peer".utf8)))
        }
    }

    @Test(arguments: [0, 3, 255] as [UInt8])
    func helloWithAnotherVersionGetsUnsupportedVersion(version: UInt8) throws {
        try withRelayServer { server in
            let client = try server.connect()
            try client.send(rawFrame(type: FrameType.hello.rawValue, body: [version, 5] + Array("alice".utf8)))
            try expectRefusal(client, .unsupportedVersion, "version \(version)")
            // The relay is still open for a well-formed HELLO.
            _ = try server.join("alice")
        }
    }

    @Test func noCompleteHelloInTimeGetsHandshakeTimeout() throws {
        try withRelayServer(["--handshake-timeout", "1"]) { server in
            let (alice, _) = try server.join("alice")
            let started = Date()
            let silent = try server.connect()
            let partial = try server.connect()
            let hello = Frame.hello(name: Array("bob".utf8)).encoded()
            try partial.send(Array(hello.prefix(hello.count - 1)))

            try expectRefusal(silent, .handshakeTimeout, "a connection that sends nothing")
            #expect(Date().timeIntervalSince(started) >= 0.9, "not before the timeout")
            try expectRefusal(partial, .handshakeTimeout, "a HELLO missing its last byte")
            // alice joined before; the timeout is for the handshake only.
            try expectNothingPending(alice)
            try alice.send(.ping([7]))
            #expect(try alice.receiveFrame() == .pong([7]))
        }
    }
}
