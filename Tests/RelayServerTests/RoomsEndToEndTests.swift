import Foundation
import Testing
import RelayProtocol

/// PROTOCOL.md section 6 end to end, with real sockets: many rooms on one relay, each a
/// session of its own; group rooms with DATA_FROM; the limits.
struct RoomsEndToEndTests {
    static let roomX = Array("room x".utf8), roomY = Array("room y".utf8)

    @Test func twoRoomsSideBySideWithTheSameNamesStayApart() throws {
        try withRelayServer { server in
            let (aliceX, bobX, aliceY, bobY) = try (server.connect(), server.connect(), server.connect(), server.connect())
            let x1 = try aliceX.join("alice", room: Self.roomX)
            let y1 = try aliceY.join("alice", room: Self.roomY)
            #expect(x1.peers.isEmpty && y1.peers.isEmpty, "names are unique within a room, not across rooms")
            #expect(x1.roomSize == 2)
            let x2 = try bobX.join("bob", room: Self.roomX)
            let y2 = try bobY.join("bob", room: Self.roomY)
            #expect(x2.peers == ["alice"] && y2.peers == ["alice"])
            #expect(x1.key == x2.key && y1.key == y2.key, "peers of a room share its key")
            #expect(x1.key != y1.key, "each room has its own key")
            #expect(try aliceX.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            #expect(try aliceY.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            try aliceX.send(.data(Array("to x".utf8)))
            try aliceY.send(.data(Array("to y".utf8)))
            #expect(try bobX.receiveFrame() == .data(Array("to x".utf8)))
            #expect(try bobY.receiveFrame() == .data(Array("to y".utf8)))
            try bobX.send(.bye)
            #expect(try aliceX.receiveFrame() == .peerLeft(name: Array("bob".utf8)))
            for client in [aliceY, bobY, aliceX] { try expectNothingPending(client) }
        }
    }

    @Test func aFullRoomAndTheRelaysPeerLimitRefuseInTheContractsOrder() throws {
        try withRelayServer(["--max-peers", "3", "--room-size", "3"]) { server in
            let members = try (0..<3).map { _ in try server.connect() }
            for (index, client) in members.enumerated() { _ = try client.join("p\(index)", room: Self.roomX) }
            let fourth = try server.connect()
            try fourth.send(.helloRoom(name: Array("p0".utf8), room: Self.roomY))
            try expectRefusal(fourth, .busy, "a fourth peer beyond --max-peers 3, in another room")
            let inFullRoom = try server.connect()
            try inFullRoom.send(.helloRoom(name: Array("p0".utf8), room: Self.roomX))
            try expectRefusal(inFullRoom, .busy, "BUSY comes before RELAY_FULL and NAME_TAKEN")
        }
        try withRelayServer(["--room-size", "3"]) { server in
            let members = try (0..<3).map { _ in try server.connect() }
            for (index, client) in members.enumerated() { _ = try client.join("p\(index)", room: Self.roomX) }
            let fourth = try server.connect()
            try fourth.send(.helloRoom(name: Array("p0".utf8), room: Self.roomX))
            try expectRefusal(fourth, .relayFull, "RELAY_FULL comes before NAME_TAKEN")
            let taken = try server.connect()
            _ = try taken.join("solo", room: Self.roomY)
            let twin = try server.connect()
            try twin.send(.helloRoom(name: Array("solo".utf8), room: Self.roomY))
            try expectRefusal(twin, .nameTaken)
        }
    }

    /// A group room of 5: each DATA reaches the four others as DATA_FROM naming its
    /// sender; presence goes to all; one receiver that does not read holds the sender
    /// back (a sender waits for its slowest receiver), and nothing is lost.
    @Test func aGroupRoomFansOutAndWaitsForItsSlowestReceiver() throws {
        try withRelayServer(["--room-size", "5", "--queue-limit", "65536"]) { server in
            let names = ["alice", "bob", "carol", "dave", "erin"]
            var clients: [TestClient] = []
            for (index, name) in names.enumerated() {
                let client = try TestClient(port: server.port, receiveTimeout: 20, socketBufferSize: 65536)
                let welcome = try client.join(name, room: Self.roomX)
                #expect(welcome.roomSize == 5 && welcome.peers == Array(names[0..<index]))
                for earlier in clients { #expect(try earlier.receiveFrame() == .peerJoined(name: Array(name.utf8))) }
                clients.append(client)
            }
            let (alice, erin) = (clients[0], clients[4])
            try alice.send(.data(Array("hello all".utf8)))
            for receiver in clients[1...] {
                #expect(try receiver.receiveFrame() == .dataFrom(name: Array("alice".utf8), sealed: Array("hello all".utf8)))
            }

            // erin stops reading; alice pushes 24 MiB (more than the kernel buffers on the way
            // hold). bob, carol and dave read as it comes.
            let frameCount = 1536
            let sent = SharedCounter()
            let writer = BackpressureTests.startPushing(frameCount, bodyCount: 16384, from: alice, counting: sent)
            let readers = clients[1...3].map { reader in
                BackgroundWork("reader") { () throws -> Int in
                    for index in 0..<frameCount {
                        let frame = try reader.receiveFrame()
                        guard frame == .dataFrom(name: Array("alice".utf8), sealed: numberedBody(index, count: 16384)) else { return index }
                    }
                    return frameCount
                }
            }
            try BackpressureTests.waitUntilStalled(sent, writer)
            #expect(sent.value < frameCount * 16389, "alice should wait for erin, who does not read")
            #expect(try server.unreadBytes(from: alice) > 0)
            for index in 0..<frameCount {
                let frame = try erin.receiveFrame()
                guard frame == .dataFrom(name: Array("alice".utf8), sealed: numberedBody(index, count: 16384)) else {
                    Issue.record("erin's frame \(index): \(frame.summary)")
                    break
                }
            }
            try writer.value(within: 20)
            for reader in readers { #expect(try reader.value(within: 20) == frameCount) }

            try clients[2].send(.bye)
            for index in [0, 1, 3, 4] { #expect(try clients[index].receiveFrame() == .peerLeft(name: Array("carol".utf8))) }
        }
    }

    @Test func aVersion1PairInTheDefaultRoomBesideVersion2Rooms() throws {
        try withRelayServer(["--room-size", "3"]) { server in
            let (alice, aliceWelcome) = try server.join("alice")  // version 1: the default room
            let carol = try server.connect()
            _ = try carol.join("carol", room: Self.roomX)
            // A version 2 HELLO with an empty room joins the default room (always of 2).
            let bob = try server.connect()
            let bobWelcome = try bob.join("bob", room: [])
            #expect(bobWelcome.roomSize == 2 && bobWelcome.peers == ["alice"])
            #expect(bobWelcome.key == aliceWelcome.sessionKey)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            try alice.send(.data(Array("v1 to v2".utf8)))
            #expect(try bob.receiveFrame() == .data(Array("v1 to v2".utf8)), "the default room forwards DATA unchanged")
            let late = try server.connect()
            try late.send(.hello(name: Array("dave".utf8)))
            try expectRefusal(late, .relayFull, "the default room holds 2 whatever --room-size says")
            try expectNothingPending(carol)
        }
    }

    @Test func aClientNeverSendsDataFrom() throws {
        try withRelayServer { server in
            let (alice, _) = try server.join("alice")
            let (bob, _) = try server.join("bob")
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            try bob.send(.dataFrom(name: Array("alice".utf8), sealed: [1, 2, 3]))
            try expectRefusal(bob, .unexpectedFrame)
            #expect(try alice.receiveFrame() == .peerLeft(name: Array("bob".utf8)))
        }
    }
}
