import Foundation
import Testing
import RelayProtocol

/// Hundreds of connections sending seeded random bytes (and near-miss frames) while a
/// pair stays connected: each hostile connection is closed by the relay, the pair keeps
/// exchanging messages and hears nothing about the others, and the relay stays up.
struct HostileInputTests {
    static let workers = 4
    static let connectionsPerWorker = 75

    /// Hostile bytes of several kinds, chosen by the generator.
    static func garbage(_ generator: inout Xorshift, index: Int) -> [UInt8] {
        switch generator.next() % 6 {
        case 0:  // anything at all
            return generator.bytes(1 + Int(generator.next() % 4096))
        case 1:  // a plausible header, a random type and a random (maybe short) body
            let length = 1 + Int(generator.next() % 3000)
            let types: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x10, 0x20, 0x21, 0x30, 0x7F, UInt8(truncatingIfNeeded: generator.next())]
            let type = types[Int(generator.next() % UInt64(types.count))]
            let body = generator.bytes(Int(generator.next() % UInt64(length + 16)))
            return rawFrame(type: type, body: body, length: UInt32(length))
        case 2:  // a HELLO with random name bytes, then anything
            let name = generator.bytes(Int(generator.next() % 40))
            return Frame.hello(name: name).encoded() + generator.bytes(Int(generator.next() % 2000))
        case 3:  // a well-formed HELLO: the relay is full
            return Frame.hello(name: Array("intruder \(index)".utf8)).encoded() + generator.bytes(Int(generator.next() % 64))
        case 4:  // a partial header
            return generator.bytes(1 + Int(generator.next() % 4))
        default:  // many small frames, then random bytes
            var bytes: [UInt8] = []
            for _ in 0..<(1 + generator.next() % 20) { Frame.ping(generator.bytes(Int(generator.next() % 70))).encode(into: &bytes) }
            return bytes + generator.bytes(Int(generator.next() % 512))
        }
    }

    @Test func hundredsOfGarbageConnectionsDoNotDisturbThePair() throws {
        try withRelayServer(["--handshake-timeout", "3"]) { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            let port = server.port
            let hostile = (0..<Self.workers).map { worker in
                BackgroundWork("hostile worker \(worker)") { () -> Int in
                    var generator = Xorshift(seed: 0x5EED_0000 + UInt64(worker))
                    // All of this worker's connections are open at once.
                    var clients: [TestClient] = []
                    for index in 0..<Self.connectionsPerWorker {
                        let client = try TestClient(port: port, receiveTimeout: 5, sendTimeout: 5)
                        try? client.send(Self.garbage(&generator, index: worker * 1000 + index))
                        clients.append(client)
                    }
                    var closedByRelay = 0
                    for client in clients {
                        client.shutdownWrite()
                        if client.discardUntilClosed() { closedByRelay += 1 }
                        client.close()
                    }
                    return closedByRelay
                }
            }

            var exchanges = 0
            let giveUp = Date().addingTimeInterval(30)
            repeat {
                let question = numberedBody(exchanges, count: 8 + exchanges % 300)
                try alice.send(.data(question))
                #expect(try bob.receiveFrame() == .data(question), "exchange \(exchanges), alice → bob")
                try bob.send(.data(question.reversed()))
                #expect(try alice.receiveFrame() == .data(question.reversed()), "exchange \(exchanges), bob → alice")
                exchanges += 1
            } while !hostile.allSatisfy(\.isFinished) && Date() < giveUp

            let closed = try hostile.map { try $0.value(within: 10) }.reduce(0, +)
            #expect(closed == Self.workers * Self.connectionsPerWorker, "every hostile connection is closed by the relay")
            #expect(exchanges > 0)
            #expect(server.child.isRunning)
            try expectNothingPending(alice, "alice")
            try expectNothingPending(bob, "bob")
            // Still serving: a newcomer is answered (the pair is still there).
            let newcomer = try server.connect()
            try newcomer.send(.hello(name: Array("carol".utf8)))
            try expectRefusal(newcomer, .relayFull)
        }
    }
}
