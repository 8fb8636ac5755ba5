import Testing
import RelayProtocol

/// Large DATA frames: over plain TCP the relay moves the rest of a large body socket →
/// pipe → socket (`splice`), yet still forwards only whole frames, in order, and holds
/// them for a peer that is away.
struct LargeFrameSpliceTests {
    static let largeBody = 1_048_575  // the largest body of the default maxFrame

    static func dataFrame(sequence: Int, count: Int) -> [UInt8] {
        Frame.data(numberedBody(sequence, count: count)).encoded()
    }

    @Test func largeFramesSentInPiecesArriveWholeAndInOrder() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice", receiveTimeout: 10)
            let (bob, _) = try server.join("bob", receiveTimeout: 10)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            // Each frame is written in two pieces, so a large one's start usually reaches
            // the relay before its rest (the case that is spliced).
            let sizes = [Self.largeBody, 70_000, 300_000, 17, Self.largeBody]
            let receiving = BackgroundWork("bob's frames") {
                for (sequence, size) in sizes.enumerated() {
                    let frame = try bob.receiveFrame()
                    #expect(frame == .data(numberedBody(sequence, count: size)), "frame \(sequence) is \(frame.summary)")
                }
            }
            for (sequence, size) in sizes.enumerated() {
                let frame = Self.dataFrame(sequence: sequence, count: size)
                let firstPiece = min(frame.count, 100_000)
                try alice.send(Array(frame[..<firstPiece]))
                if firstPiece < frame.count {
                    try alice.send(Array(frame[firstPiece...]))
                }
            }
            try receiving.value(within: 20)
            try alice.roundTrip()
            try expectNothingPending(bob)
        }
    }

    @Test func aSenderLeavingMidFrameForwardsNoPartOfIt() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice", receiveTimeout: 10)
            let (bob, _) = try server.join("bob", receiveTimeout: 10)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            try alice.send(Self.dataFrame(sequence: 1, count: 100))
            let large = Self.dataFrame(sequence: 2, count: Self.largeBody)
            try alice.send(Array(large[..<400_000]))
            alice.close()

            #expect(try bob.receiveFrame() == .data(numberedBody(1, count: 100)))
            #expect(try bob.receiveFrame() == .peerLeft(name: Array("alice".utf8)), "no part of the unfinished frame")
            try expectNothingPending(bob)
        }
    }

    @Test func aLargeFrameWhoseReceiverLeftMidwayIsHeldForTheNextPeer() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice", receiveTimeout: 10)
            let (bob, _) = try server.join("bob", receiveTimeout: 10)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            let large = Self.dataFrame(sequence: 3, count: Self.largeBody)
            try alice.send(Array(large[..<400_000]))
            bob.close()
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("bob".utf8)))
            try alice.send(Array(large[400_000...]))
            try alice.roundTrip()

            let (carol, welcome) = try server.join("carol", receiveTimeout: 10)
            #expect(welcome.peer == "alice")
            #expect(try carol.receiveFrame() == .data(numberedBody(3, count: Self.largeBody)))
            try expectNothingPending(carol)
        }
    }
}
