import Testing
import RelayProtocol

/// PROTOCOL.md section 2, "Handshake": HELLO first, answered with WELCOME (key, the
/// server's maxFrame, the peer's name or none), and PEER_JOINED to the peer already there.
struct HandshakeTests {
    @Test func welcomeCarriesKeyMaxFrameAndPeer() throws {
        try withRelayServer(["--max-frame", "65536"]) { server in
            let (alice, aliceWelcome) = try server.join("alice")
            #expect(aliceWelcome.sessionKey.count == 32)
            #expect(aliceWelcome.sessionKey != [UInt8](repeating: 0, count: 32))
            #expect(aliceWelcome.maxFrame == 65536)
            #expect(aliceWelcome.peer == "", "no peer yet: peerLen 0")

            let (_, bobWelcome) = try server.join("bob")
            #expect(bobWelcome.maxFrame == 65536)
            #expect(bobWelcome.peer == "alice")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
        }
    }

    @Test func defaultMaxFrameIsEchoed() throws {
        try withRelayServer { server in
            let (_, welcome) = try server.join("zoë")
            #expect(welcome.maxFrame == 1_048_576)
        }
    }

    @Test func helloSplitAcrossWritesStillJoins() throws {
        try withRelayServer { server in
            let client = try server.connect()
            let hello = Frame.hello(name: Array("slow".utf8)).encoded()
            for byte in hello { try client.send([byte]) }
            let frame = try client.receiveFrame()
            guard case .welcome(_, _, let peer) = frame else {
                Issue.record("expected WELCOME, got \(frame.summary)")
                return
            }
            #expect(peer.isEmpty)
        }
    }

    /// A client need not wait for WELCOME: DATA right behind its HELLO is forwarded.
    @Test func dataPipelinedBehindHelloIsForwarded() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let bob = try server.connect()
            try bob.send(Frame.hello(name: Array("bob".utf8)).encoded() + Frame.data([4, 5, 6]).encoded())
            let frame = try bob.receiveFrame()
            guard case .welcome(_, _, let peer) = frame else {
                Issue.record("expected WELCOME, got \(frame.summary)")
                return
            }
            #expect(peer == Array("alice".utf8))
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            #expect(try alice.receiveFrame() == .data([4, 5, 6]))

            // A longer run than one handshake read, all in the HELLO's write.
            try bob.send(.bye)
            try bob.expectEnd()
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("bob".utf8)))
            let carol = try server.connect()
            var bytes = Frame.hello(name: Array("carol".utf8)).encoded()
            for index in 0..<200 { Frame.data(numberedBody(index, count: 1000)).encode(into: &bytes) }
            try carol.send(bytes)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("carol".utf8)))
            for index in 0..<200 { #expect(try alice.receiveFrame() == .data(numberedBody(index, count: 1000)), "message \(index)") }
        }
    }
}
