import Foundation
import Testing
import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// PROTOCOL.md section 2, "The two directions are independent": a peer that reads
/// slowly (its own backlog at the limit) can still send, and what it sends is still read
/// and forwarded. Only the backlog of a sender's *receiver* holds the sender back.
struct IndependentDirectionsTests {
    @Test func aPeerThatDoesNotReadCanStillSend() throws {
        try withRelayServer(["--queue-limit", "65536"]) { server in
            let (alice, _) = try server.join("alice", receiveTimeout: 5)
            let bob = try TestClient(port: server.port, receiveTimeout: 20, socketBufferSize: 65536)
            _ = try bob.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            // alice pushes far more than bob's queue and the kernel buffers hold; bob
            // reads nothing, so the relay stops reading alice.
            let frameCount = (16 << 20) / 16384
            let sent = SharedCounter()
            let writer = BackpressureTests.startPushing(frameCount, bodyCount: 16384, from: alice, counting: sent)
            try BackpressureTests.waitUntilStalled(sent, writer)
            #expect(sent.value < 16 << 20, "the relay should hold alice back while bob does not read")

            // bob, whose own backlog is at the limit, still talks to alice.
            for index in 0..<50 { try bob.send(.data(numberedBody(index, count: 1000))) }
            for index in 0..<50 {
                let frame = try alice.receiveFrame()
                #expect(frame == .data(numberedBody(index, count: 1000)), "bob's message \(index) should reach alice while bob does not read")
                if frame != .data(numberedBody(index, count: 1000)) { break }
            }

            // And nothing of alice's was lost meanwhile.
            #expect(try BackpressureTests.expectNumberedFrames(frameCount, bodyCount: 16384, at: bob) == frameCount * 16384)
            try writer.value(within: 20)
        }
    }

    /// PONGs a peer does not read are bounded on their own (64 KiB held, section 6): such
    /// a peer is not read further, yet DATA sent *to* it never holds it back (above).
    @Test func unreadPongsHoldBackOnlyThePeerThatSentThePings() throws {
        try withRelayServer { server in  // the default 8 MiB queue limit: far above 64 KiB
            let alice = try TestClient(port: server.port, receiveTimeout: 20, socketBufferSize: 65536)
            _ = try alice.join("alice")
            let (bob, _) = try server.join("bob", receiveTimeout: 5)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            let ping = Frame.ping(Array(0..<64)).encoded()
            let batch = Array([[UInt8]](repeating: ping, count: 4096).joined())
            let sent = SharedCounter()
            let writer = BackgroundWork("alice's PINGs") {
                for _ in 0..<36 {
                    try alice.send(batch)
                    sent.add(batch.count)
                }
            }
            try BackpressureTests.waitUntilStalled(sent, writer)
            #expect(try server.unreadBytes(from: alice) > 0, "the relay should stop reading alice, who does not read her PONGs")
            // bob is unaffected.
            try bob.send(.data(Array("hi".utf8)))
            try expectNothingPending(bob, "bob while alice ignores her PONGs")
            shutdown(alice.fd, Int32(SHUT_RDWR))  // wakes the writer blocked in send
            _ = try? writer.value(within: 10)
        }
    }
}
