import Testing
import RelayProtocol

/// PROTOCOL.md section 2, "Session key": a fresh key when a peer joins an empty relay,
/// the same key to every peer that joins while the session lasts, never reused after.
struct SessionKeyTests {
    @Test func bothPeersGetTheSameKey() throws {
        try withRelayServer { server in
            let (alice, aliceWelcome) = try server.join("alice")
            let (bob, bobWelcome) = try server.join("bob")
            #expect(aliceWelcome.sessionKey == bobWelcome.sessionKey)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            // The session lasts while a peer remains: a newcomer gets the same key.
            try bob.send(.bye)
            try bob.expectEnd()
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("bob".utf8)))
            let (_, carolWelcome) = try server.join("carol")
            #expect(carolWelcome.sessionKey == aliceWelcome.sessionKey)
            #expect(carolWelcome.peer == "alice")
        }
    }

    @Test func nextSessionGetsAFreshKey() throws {
        try withRelayServer { server in
            var seen: [[UInt8]] = []
            for round in 0..<3 {
                let (first, firstWelcome) = try server.join("first")
                let (second, secondWelcome) = try server.join("second")
                #expect(firstWelcome.sessionKey == secondWelcome.sessionKey, "round \(round)")
                #expect(!seen.contains(firstWelcome.sessionKey), "round \(round): a key was reused")
                seen.append(firstWelcome.sessionKey)
                #expect(try first.receiveFrame() == .peerJoined(name: Array("second".utf8)))
                // Both leave, one by BYE and one by closing: the session ends.
                try first.send(.bye)
                try first.expectEnd()
                #expect(try second.receiveFrame() == .peerLeft(name: Array("first".utf8)))
                second.shutdownWrite()
                try second.expectEnd()
            }
            // A lone peer starts a session of its own too.
            let (_, alone) = try server.join("alone")
            #expect(!seen.contains(alone.sessionKey))
        }
    }
}
