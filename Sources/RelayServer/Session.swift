import RelayCrypto
import RelayProtocol

/// Identifies one accepted connection for the lifetime of a server.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
}

/// The session rules of PROTOCOL.md section 2, with no sockets: who may join, who is
/// whose peer, and the key's lifecycle. The reactor asks; this type decides.
public struct Session {
    /// A joined peer.
    public struct Member: Equatable {
        public let id: ConnectionID
        public let name: PeerName
    }

    /// What a HELLO leads to.
    public enum JoinOutcome {
        /// Joined: the session key, and the other peer if one is connected.
        case joined(key: SessionKey, peer: Member?)
        /// Refused with this error code and message.
        case refused(RelayErrorCode, String)
    }

    /// At most two peers share a session.
    public static let capacity = 2

    /// The joined peers, in joining order.
    public private(set) var members: [Member] = []
    /// The live session key while at least one peer is joined.
    public private(set) var key: SessionKey?

    public init() {}

    /// Applies a valid HELLO from `id`. A session (and a fresh key) begins when a peer
    /// joins an empty relay; a third peer gets RELAY_FULL, a duplicate name NAME_TAKEN.
    public mutating func join(_ id: ConnectionID, name: PeerName) -> JoinOutcome {
        guard members.count < Self.capacity else {
            return .refused(.relayFull, "two peers are already connected")
        }
        if let other = members.first, other.name == name {
            return .refused(.nameTaken, "the other peer is already called \(name.text)")
        }
        let sessionKey = key ?? SessionKey()
        key = sessionKey
        let peer = members.first
        members.append(Member(id: id, name: name))
        return .joined(key: sessionKey, peer: peer)
    }

    /// Removes `id` if it had joined. Returns the member that left and the one that
    /// remains; when none remains the session ends and its key is wiped.
    @discardableResult
    public mutating func leave(_ id: ConnectionID) -> (left: Member, remaining: Member?)? {
        guard let index = members.firstIndex(where: { $0.id == id }) else { return nil }
        let left = members.remove(at: index)
        if members.isEmpty {
            key?.wipe()
            key = nil
        }
        return (left, members.first)
    }

    /// The other joined peer of `id`, if both are joined.
    public func peer(of id: ConnectionID) -> Member? {
        guard members.contains(where: { $0.id == id }) else { return nil }
        return members.first { $0.id != id }
    }

    /// The member with this id, if it has joined.
    public func member(_ id: ConnectionID) -> Member? {
        members.first { $0.id == id }
    }
}
