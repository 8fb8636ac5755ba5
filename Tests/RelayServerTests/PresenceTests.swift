import Testing
import RelayProtocol

/// PROTOCOL.md section 2: PEER_JOINED when the other peer joins, PEER_LEFT when it
/// leaves by BYE or by closing, and the leaver's connection closed.
struct PresenceTests {
    @Test func peerJoinedAndPeerLeft() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")

            // Leaving by closing the connection.
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            bob.close()
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("bob".utf8)))

            // Leaving by BYE: the leaver's connection is closed by the relay.
            let (carol, carolWelcome) = try server.join("carol")
            #expect(carolWelcome.peer == "alice")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("carol".utf8)))
            try carol.send(.bye)
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("carol".utf8)))
            try carol.expectEnd()

            // Leaving by half-closing (end of input).
            let (dave, _) = try server.join("dave")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("dave".utf8)))
            dave.shutdownWrite()
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("dave".utf8)))
            try dave.expectEnd()

            // Leaving by a reset.
            let (erin, _) = try server.join("erin")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("erin".utf8)))
            erin.reset()
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("erin".utf8)))

            try expectNothingPending(alice)
        }
    }

    @Test func theRemainingPeerHearsNothingWhenItIsAlone() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            try alice.send(.bye)
            try alice.expectEnd()
            #expect(try bob.receiveFrame() == .peerLeft(name: Array("alice".utf8)))
            try expectNothingPending(bob)
        }
    }
}
