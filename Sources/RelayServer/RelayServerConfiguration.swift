import RelayProtocol

/// Everything a relay server can be told; the defaults are PROTOCOL.md's.
public struct RelayServerConfiguration: Sendable {
    /// The address to listen on.
    public var host = "127.0.0.1"
    /// The port; 0 picks a free one.
    public var port = 12345
    /// The largest frame `length` accepted (type byte plus body).
    public var maxFrame: UInt32 = FrameHeader.defaultMaxFrame
    /// Seconds a new connection has to complete its HELLO.
    public var handshakeTimeout = 10.0
    /// Bytes owed to one receiver (its unsent backlog) at which the sender stops being read.
    public var queueLimit = 8 * 1024 * 1024
    /// Connections not joined as peers (in the handshake, or closing) allowed at once;
    /// beyond it new connections are accepted and closed at once, so a flood of idle
    /// sockets can neither exhaust descriptors nor starve the pair.
    public var maxConnections = 512
    /// Speak the original Python relay's wire format (PROTOCOL.md section 4) instead of
    /// protocol v1: raw name, raw key, `length | payload` frames, no ERROR frames.
    public var legacy = false
    /// Seconds the server spends flushing ERROR SHUTTING_DOWN before it exits.
    public var shutdownGracePeriod = 2.0
    /// Seconds a closing connection may take to take its last frame (ERROR, PEER_LEFT).
    public var closeGracePeriod = 2.0

    public init() {}
}
