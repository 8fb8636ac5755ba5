/// The codes an ERROR frame carries (PROTOCOL.md section 1, "Error codes").
public enum RelayErrorCode: UInt16, Sendable, CaseIterable {
    case malformed = 1
    case unsupportedVersion = 2
    case invalidName = 3
    case nameTaken = 4
    case relayFull = 5
    case frameTooLarge = 6
    case handshakeTimeout = 7
    case unexpectedFrame = 8
    case shuttingDown = 9
    /// The relay is at its `--max-peers` limit (version 2); try again later.
    case busy = 10

    /// A short lower-case label for people (`relay full`, `name taken`, ...).
    public var label: String {
        switch self {
        case .malformed: "malformed frame"
        case .unsupportedVersion: "unsupported version"
        case .invalidName: "invalid name"
        case .nameTaken: "name taken"
        case .relayFull: "relay full"
        case .frameTooLarge: "frame too large"
        case .handshakeTimeout: "handshake timeout"
        case .unexpectedFrame: "unexpected frame"
        case .shuttingDown: "relay shutting down"
        case .busy: "relay busy"
        }
    }
}
