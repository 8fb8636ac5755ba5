/// One message of protocol v1 or v2, decoded and checked against its row of the frame table
/// (PROTOCOL.md section 1).
public enum Frame: Equatable, Sendable {
    /// Client → server: the protocol version (always 1 here) and the raw name bytes,
    /// which the server validates as a ``PeerName``.
    case hello(name: [UInt8])
    /// Client → server, version 2 (PROTOCOL.md section 6): the name and the room (0–64
    /// opaque bytes; empty is the default room).
    case helloRoom(name: [UInt8], room: [UInt8])
    /// Server → client: the session key, the server's frame limit, and the peer's name
    /// (empty when no peer is connected yet).
    case welcome(sessionKey: [UInt8], maxFrame: UInt32, peer: [UInt8])
    /// Server → client, the answer to a version 2 HELLO: the room's key, the frame limit,
    /// the room's size and the peers already in it, in joining order.
    case welcomeRoom(sessionKey: [UInt8], maxFrame: UInt32, roomSize: UInt8, peers: [[UInt8]])
    /// Server → client: the peer with this name joined.
    case peerJoined(name: [UInt8])
    /// Server → client: the peer with this name left.
    case peerLeft(name: [UInt8])
    /// Both ways: a sealed message, opaque to the server.
    case data([UInt8])
    /// Server → client, version 2 rooms of 3 or more: a sealed message and its sender.
    case dataFrom(name: [UInt8], sealed: [UInt8])
    /// Both ways: 0–64 opaque bytes to be echoed.
    case ping([UInt8])
    /// Both ways: a PING's body, echoed.
    case pong([UInt8])
    /// Client → server: leaving.
    case bye
    /// Server → client: a fatal error with its raw code (see ``RelayErrorCode``) and text.
    case error(code: UInt16, message: String)

    /// The protocol version a version 1 HELLO carries.
    public static let protocolVersion: UInt8 = 1
    /// The protocol version a HELLO with a room carries.
    public static let roomsProtocolVersion: UInt8 = 2
    /// The longest room (section 6).
    public static let maximumRoomCount = 64
    /// The session key length WELCOME carries.
    public static let sessionKeyCount = 32
    /// The longest PING or PONG body.
    public static let maximumPingBodyCount = 64

    /// The frame's type byte.
    public var type: FrameType {
        switch self {
        case .hello, .helloRoom: .hello
        case .welcome, .welcomeRoom: .welcome
        case .peerJoined: .peerJoined
        case .peerLeft: .peerLeft
        case .data: .data
        case .dataFrom: .dataFrom
        case .ping: .ping
        case .pong: .pong
        case .bye: .bye
        case .error: .error
        }
    }

    /// An ERROR frame for a known code.
    public static func error(_ code: RelayErrorCode, _ message: String) -> Frame {
        .error(code: code.rawValue, message: message)
    }
}
