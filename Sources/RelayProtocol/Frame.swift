/// One message of protocol v1, decoded and checked against its row of the frame table
/// (PROTOCOL.md section 1).
public enum Frame: Equatable, Sendable {
    /// Client → server: the protocol version (always 1 here) and the raw name bytes,
    /// which the server validates as a ``PeerName``.
    case hello(name: [UInt8])
    /// Server → client: the session key, the server's frame limit, and the peer's name
    /// (empty when no peer is connected yet).
    case welcome(sessionKey: [UInt8], maxFrame: UInt32, peer: [UInt8])
    /// Server → client: the peer with this name joined.
    case peerJoined(name: [UInt8])
    /// Server → client: the peer with this name left.
    case peerLeft(name: [UInt8])
    /// Both ways: a sealed message, opaque to the server.
    case data([UInt8])
    /// Both ways: 0–64 opaque bytes to be echoed.
    case ping([UInt8])
    /// Both ways: a PING's body, echoed.
    case pong([UInt8])
    /// Client → server: leaving.
    case bye
    /// Server → client: a fatal error with its raw code (see ``RelayErrorCode``) and text.
    case error(code: UInt16, message: String)

    /// The protocol version HELLO carries.
    public static let protocolVersion: UInt8 = 1
    /// The session key length WELCOME carries.
    public static let sessionKeyCount = 32
    /// The longest PING or PONG body.
    public static let maximumPingBodyCount = 64

    /// The frame's type byte.
    public var type: FrameType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .peerJoined: .peerJoined
        case .peerLeft: .peerLeft
        case .data: .data
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
