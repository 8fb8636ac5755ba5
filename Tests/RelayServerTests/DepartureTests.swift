import Testing
import RelayProtocol

/// PROTOCOL.md section 2, "BYE / disconnect": everything the leaver sent before is
/// delivered to the other peer, then PEER_LEFT; the leaver's connection is closed. Also
/// when the receiver is behind and the relay is holding the sender back.
struct DepartureTests {
    static let frameCount = 64
    static let bodyCount = 64 * 1024

    /// alice sends 4 MiB (16 times the queue limit) then leaves, while bob is not yet
    /// reading; bob then reads all of it, in order, and only then PEER_LEFT.
    @Test(arguments: ["BYE", "end of input"])
    func everythingSentBeforeLeavingArrivesBeforePeerLeft(leaving: String) throws {
        try withRelayServer(["--queue-limit", "262144"]) { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob", receiveTimeout: 10)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            let writer = BackgroundWork("alice's writer") {
                var batch: [UInt8] = []
                for index in 0..<Self.frameCount {
                    Frame.data(numberedBody(index, count: Self.bodyCount)).encode(into: &batch)
                    if batch.count >= 1 << 20 {
                        try alice.send(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if leaving == "BYE" { Frame.bye.encode(into: &batch) }
                try alice.send(batch)
                if leaving != "BYE" { alice.shutdownWrite() }
            }
            for index in 0..<Self.frameCount {
                let frame = try bob.receiveFrame()
                guard frame == .data(numberedBody(index, count: Self.bodyCount)) else {
                    Issue.record("frame \(index): expected DATA \(index), got \(frame.summary)")
                    return
                }
            }
            #expect(try bob.receiveFrame() == .peerLeft(name: Array("alice".utf8)))
            try writer.value(within: 10)
            try alice.expectEnd()
            try expectNothingPending(bob)
        }
    }

    /// A frame cut short by the end of input is never forwarded in part: the peer's
    /// stream stays framed, with the whole frames before it and then PEER_LEFT.
    @Test(arguments: [(3, 1000), (900, 1000), (600_000, 1_048_575)])
    func aFrameCutShortByEndOfInputIsNotForwarded(sentBytes: Int, bodyCount: Int) throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob", receiveTimeout: 10)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            let whole = Frame.data(numberedBody(0, count: 5000)).encoded()
            let cut = Frame.data(numberedBody(1, count: bodyCount)).encoded()
            try alice.send(whole + cut.prefix(sentBytes))
            alice.shutdownWrite()
            #expect(try bob.receiveFrame() == .data(numberedBody(0, count: 5000)))
            #expect(try bob.receiveFrame() == .peerLeft(name: Array("alice".utf8)))
            try alice.expectEnd()
            try expectNothingPending(bob)
        }
    }
}
