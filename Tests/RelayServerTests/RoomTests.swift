import Testing
import RelayIO
import RelayProtocol
@testable import RelayServer

/// ``Room`` without sockets (PROTOCOL.md section 6): joins, refusals, presence, where
/// DATA goes, the held bytes, and whom a receiver's backlog pauses.
struct RoomTests {
    static func name(_ text: String) throws -> PeerName { try PeerName(validating: Array(text.utf8)) }
    static let a = ConnectionID(1), b = ConnectionID(2), c = ConnectionID(3), d = ConnectionID(4)

    static func pair() throws -> Room {
        let room = Room(id: RoomID(Array("r".utf8)), capacity: 2, queueLimit: 1000)
        _ = room.handle(.hello(a, try name("alice")))
        _ = room.handle(.hello(b, try name("bob")))
        return room
    }

    @Test func theFirstPeerDrawsTheKeyAndTheSecondIsAnnounced() throws {
        let room = Room(id: .defaultRoom, capacity: 2, queueLimit: 1000)
        #expect(room.handle(.hello(Self.a, try Self.name("alice"))) == [.welcome(to: Self.a, peers: [])])
        let key = try #require(room.key)
        let alice = try #require(room.member(Self.a))
        #expect(room.handle(.hello(Self.b, try Self.name("bob"))) == [
            .welcome(to: Self.b, peers: [alice]),
            .send(.peerJoined(name: Array("bob".utf8)), to: Self.a),
        ])
        #expect(room.key === key, "every peer of a room gets the same key")
    }

    @Test func refusalsComeInOrderFullThenNameTaken() throws {
        let room = try Self.pair()
        // Full comes before a taken name.
        #expect(room.handle(.hello(Self.c, try Self.name("alice"))) == [.refuse(Self.c, .relayFull, "two peers are already connected")])
        let group = Room(id: RoomID([1]), capacity: 3, queueLimit: 1000)
        _ = group.handle(.hello(Self.a, try Self.name("alice")))
        guard case .refuse(_, .nameTaken, _)? = group.handle(.hello(Self.b, try Self.name("alice"))).first else {
            Issue.record("a second alice should get NAME_TAKEN")
            return
        }
        #expect(group.members.count == 1)
    }

    @Test func dataGoesToThePeerOrIsHeldOrFansOutTagged() throws {
        let room = try Self.pair()
        #expect(room.route(from: Self.a) == .peer(Self.b))
        #expect(room.route(from: Self.b) == .peer(Self.a))
        #expect(room.route(from: Self.c) == .nowhere)
        _ = room.handle(.leave(Self.b))
        #expect(room.route(from: Self.a) == .hold(taggedWith: nil))

        let group = Room(id: RoomID([2]), capacity: 5, queueLimit: 1000)
        _ = group.handle(.hello(Self.a, try Self.name("alice")))
        #expect(group.route(from: Self.a) == .hold(taggedWith: try Self.name("alice")))
        _ = group.handle(.hello(Self.b, try Self.name("bob")))
        #expect(group.route(from: Self.b) == .everyOther(taggedWith: try Self.name("bob")))
    }

    @Test func heldBytesGoToTheNextPeerAndTheRoomEndsWithItsLastPeer() throws {
        let room = Room(id: RoomID([3]), capacity: 2, queueLimit: 1000)
        _ = room.handle(.hello(Self.a, try Self.name("alice")))
        room.held.append([1, 2, 3])
        let actions = room.handle(.hello(Self.b, try Self.name("bob")))
        #expect(actions.last == .deliverHeld(to: Self.b))
        let key = try #require(room.key)
        #expect(room.handle(.leave(Self.a)) == [.send(.peerLeft(name: Array("alice".utf8)), to: Self.b)])
        room.held.append([4])
        #expect(room.handle(.leave(Self.b)) == [.end])
        #expect(!key.isLive, "the key is wiped when the last peer leaves")
        #expect(room.key == nil && room.held.isEmpty)
        #expect(room.handle(.leave(Self.b)) == [], "leaving twice changes nothing")
    }

    @Test func aReceiversBacklogPausesOnlyItsSenders() throws {
        let room = try Self.pair()
        // bob's queue is full: alice (who sends to him) pauses, bob does not.
        #expect(room.handle(.backlog(Self.b, aboveHighWater: true)) == [.pauseReading(Self.a)])
        #expect(room.handle(.backlog(Self.b, aboveHighWater: true)) == [])
        #expect(room.handle(.backlog(Self.a, aboveHighWater: true)) == [.pauseReading(Self.b)])
        #expect(room.handle(.backlog(Self.b, aboveHighWater: false)) == [.resumeReading(Self.a)])
        // A receiver that leaves releases its senders.
        #expect(room.handle(.leave(Self.a)) == [.send(.peerLeft(name: Array("alice".utf8)), to: Self.b), .resumeReading(Self.b)])
    }

    @Test func inAGroupTheSlowestReceiverPausesEveryOtherSender() throws {
        let group = Room(id: RoomID([4]), capacity: 4, queueLimit: 1000)
        for (id, text) in [(Self.a, "alice"), (Self.b, "bob"), (Self.c, "carol")] {
            _ = group.handle(.hello(id, try Self.name(text)))
        }
        #expect(group.handle(.backlog(Self.c, aboveHighWater: true)) == [.pauseReading(Self.a), .pauseReading(Self.b)])
        #expect(group.handle(.hello(Self.d, try Self.name("dave"))).contains(.pauseReading(Self.d)),
                "a newcomer's DATA would reach the slow receiver too")
        #expect(group.handle(.backlog(Self.c, aboveHighWater: false)) == [.resumeReading(Self.a), .resumeReading(Self.b), .resumeReading(Self.d)])
    }

    @Test func aLoneSenderPausesOnTheHeldBytesAlone() throws {
        let room = Room(id: RoomID([5]), capacity: 2, queueLimit: 100)
        _ = room.handle(.hello(Self.a, try Self.name("alice")))
        #expect(room.handle(.heldBacklog(aboveHighWater: true)) == [.pauseReading(Self.a)])
        // A peer arrives: the held bytes go to it and alice is read again.
        #expect(room.handle(.hello(Self.b, try Self.name("bob"))).contains(.resumeReading(Self.a)))
    }

    @Test func theHeldQueueReportsItsWaterMarks() throws {
        let room = Room(id: RoomID([6]), capacity: 2, queueLimit: 100)
        var reports: [Bool] = []
        room.held.onCongestionChange = { reports.append($0) }
        room.held.append([UInt8](repeating: 0, count: 99))
        #expect(reports.isEmpty)
        room.held.append([0])
        #expect(reports == [true])
        let receiver = OutputQueue { _ in .wouldBlock }
        room.held.moveAll(to: receiver)
        #expect(reports == [true, false])
    }

    @Test func roomsAppearInLogsOnlyAsAHashPrefix() {
        let room = RoomID(Array("secret room".utf8))
        #expect(room.description.count == 8)
        #expect(room.description.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(!room.description.contains("secret"))
        // SHA-256("") starts e3b0c442.
        #expect(RoomID.defaultRoom.description == "e3b0c442")
    }
}
