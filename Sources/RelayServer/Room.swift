import RelayCrypto
import RelayIO
import RelayProtocol

/// Identifies one accepted connection for the lifetime of a server.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
}

/// One room: a session of PROTOCOL.md sections 2 and 6 with no sockets. It takes events
/// (a HELLO, a leave, a receiver's backlog crossing its water marks) and answers with
/// actions for the reactor to carry out, from one `switch`; where a sender's DATA goes
/// is asked with ``route(from:)``, which allocates nothing (it runs for every run of
/// DATA frames). Tests drive it directly, as swift-nio's tests drive `HappyEyeballs`.
public final class Room {
    /// A joined peer.
    public struct Member: Equatable, Sendable {
        public let id: ConnectionID
        public let name: PeerName
    }

    /// What happens to a room.
    public enum Event: Equatable {
        /// A valid HELLO for this room.
        case hello(ConnectionID, PeerName)
        /// A member leaves (BYE, end of input, an error, a reset, shutdown).
        case leave(ConnectionID)
        /// A member's output queue crossed its high water mark (true) or fell below its
        /// low one (false).
        case backlog(ConnectionID, aboveHighWater: Bool)
        /// The bytes held for a peer not yet there crossed the high water mark (true) or
        /// fell below the low one (false).
        case heldBacklog(aboveHighWater: Bool)
    }

    /// What the reactor does in answer.
    public enum Action: Equatable {
        /// Send WELCOME with the room's key to the new member, naming `peers` (the
        /// members already there, in joining order).
        case welcome(to: ConnectionID, peers: [Member])
        /// Refuse the HELLO with this error (fatal to that connection).
        case refuse(ConnectionID, RelayErrorCode, String)
        /// Send a control frame (PEER_JOINED, PEER_LEFT) to a member.
        case send(Frame, to: ConnectionID)
        /// Move the bytes held for a peer not yet there to this member's queue.
        case deliverHeld(to: ConnectionID)
        /// Stop reading this member: a receiver of its DATA is at its limit.
        case pauseReading(ConnectionID)
        /// Read this member again.
        case resumeReading(ConnectionID)
        /// The last member left: the key is wiped, held bytes are dropped, and the room
        /// no longer exists.
        case end
    }

    /// Where a member's DATA goes.
    public enum Route: Equatable {
        /// To the one other member, unchanged (rooms of size 2).
        case peer(ConnectionID)
        /// To every other member, as DATA_FROM naming the sender (rooms of 3 or more).
        case everyOther(taggedWith: PeerName)
        /// Held for the next peer to join (the sender is alone); tagged as DATA_FROM
        /// when the room is of 3 or more.
        case hold(taggedWith: PeerName?)
        /// The sender is not a member.
        case nowhere
    }

    public let id: RoomID
    /// Peers the room holds at most.
    public let capacity: Int
    /// The joined members, in joining order.
    public private(set) var members: [Member] = []
    /// The room's key, drawn when the first member joins and wiped when the last leaves.
    public private(set) var key: SessionKey?
    /// DATA sent while its sender was alone, for the next peer to join. No descriptor:
    /// it only holds bytes, bounded by the same water marks as a receiver's queue.
    public let held: OutputQueue
    private var congested: Set<ConnectionID> = []
    private var heldIsCongested = false
    private var paused: Set<ConnectionID> = []

    /// A room of at most `capacity` peers (2 to 64); `queueLimit` bounds what is held for
    /// a peer not yet there (high water mark; the low one is half of it).
    public init(id: RoomID, capacity: Int, queueLimit: Int) {
        precondition((2...64).contains(capacity))
        self.id = id
        self.capacity = capacity
        held = OutputQueue { _ in .wouldBlock }
        held.waterMarks = OutputQueue.WaterMarks(low: queueLimit / 2, high: queueLimit)
    }

    /// True when DATA fans out as DATA_FROM (rooms of 3 or more).
    public var isGroup: Bool { capacity > 2 }

    /// The member with this id, if it has joined.
    public func member(_ id: ConnectionID) -> Member? {
        members.first { $0.id == id }
    }

    /// Where DATA from `sender` goes now.
    public func route(from sender: ConnectionID) -> Route {
        guard let own = members.first(where: { $0.id == sender }) else { return .nowhere }
        if members.count == 1 { return .hold(taggedWith: isGroup ? own.name : nil) }
        if isGroup { return .everyOther(taggedWith: own.name) }
        return .peer(members[0].id == sender ? members[1].id : members[0].id)
    }

    /// Applies `event` and returns what the reactor must do, in order.
    public func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .hello(let id, let name):
            guard members.count < capacity else {
                return [.refuse(id, .relayFull, capacity == 2 ? "two peers are already connected" : "the room is full (\(capacity) peers)")]
            }
            guard !members.contains(where: { $0.name == name }) else {
                return [.refuse(id, .nameTaken, "a peer in this room is already called \(name.text)")]
            }
            if key == nil { key = SessionKey() }
            let present = members
            members.append(Member(id: id, name: name))
            actions.append(.welcome(to: id, peers: present))
            for other in present { actions.append(.send(.peerJoined(name: name.bytes), to: other.id)) }
            if !present.isEmpty, !held.isEmpty { actions.append(.deliverHeld(to: id)) }
        case .leave(let id):
            guard let index = members.firstIndex(where: { $0.id == id }) else { return [] }
            let left = members.remove(at: index)
            congested.remove(id)
            paused.remove(id)
            for other in members { actions.append(.send(.peerLeft(name: left.name.bytes), to: other.id)) }
            if members.isEmpty {
                key?.wipe()
                key = nil
                held.removeAll()
                heldIsCongested = false
                return actions + [.end]
            }
        case .backlog(let id, let above):
            guard members.contains(where: { $0.id == id }) else { return [] }
            if above { congested.insert(id) } else { congested.remove(id) }
        case .heldBacklog(let above):
            heldIsCongested = above
        }
        updatePauses(into: &actions)
        return actions
    }

    /// A member is paused while any receiver of its DATA is at its limit: every other
    /// member, or the bytes held for the next peer while it is alone. Its own backlog
    /// never pauses it (the two directions are independent).
    private func updatePauses(into actions: inout [Action]) {
        for member in members {
            let shouldPause = members.count == 1
                ? heldIsCongested
                : congested.contains { $0 != member.id }
            if shouldPause, !paused.contains(member.id) {
                paused.insert(member.id)
                actions.append(.pauseReading(member.id))
            } else if !shouldPause, paused.contains(member.id) {
                paused.remove(member.id)
                actions.append(.resumeReading(member.id))
            }
        }
    }
}
