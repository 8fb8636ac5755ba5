import Testing
import RelayProtocol

/// PROTOCOL.md section 2, "PING is answered with PONG carrying the same body"; neither
/// reaches the other peer.
struct PingTests {
    @Test(arguments: [0, 1, 17, 64])
    func pingIsAnsweredWithTheSameBody(count: Int) throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let body = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 3) }
            try alice.send(.ping(body))
            #expect(try alice.receiveFrame() == .pong(body))
        }
    }

    @Test func pingAndPongStayBetweenClientAndRelay() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            // Several PINGs in one write, then a PONG (accepted and ignored), then DATA.
            var bytes: [UInt8] = []
            for index in 0..<10 { Frame.ping([UInt8(index)]).encode(into: &bytes) }
            Frame.pong([9, 9]).encode(into: &bytes)
            Frame.data([1, 2, 3]).encode(into: &bytes)
            try alice.send(bytes)
            for index in 0..<10 { #expect(try alice.receiveFrame() == .pong([UInt8(index)])) }
            #expect(try bob.receiveFrame() == .data([1, 2, 3]), "bob sees the DATA, not the PINGs")
            try expectNothingPending(alice)
            try expectNothingPending(bob)
        }
    }
}
