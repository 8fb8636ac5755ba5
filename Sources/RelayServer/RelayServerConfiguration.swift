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
    /// Connections not joined as peers (in the handshake, or refused and closing) allowed
    /// at once; when all are taken, a newcomer from a less busy address displaces the
    /// busiest address's oldest handshake, and any other newcomer is closed at once (see
    /// ``PendingAdmission``), so a flood of idle sockets can neither exhaust descriptors
    /// nor lock honest clients out.
    public var maxConnections = 512
    /// Connections not joined as peers allowed at once from one IP address; beyond it
    /// new connections from that address are closed at once.
    public var maxPendingPerAddress = 128
    /// Kernel pipes (two descriptors each) the relay holds open at once for large frames
    /// it splices; beyond it (and beyond 4 per connection) large frames are copied
    /// through memory instead.
    public var maxPipes = 64
    /// Speak the original Python relay's wire format (PROTOCOL.md section 4) instead of
    /// protocol v1: raw name, raw key, `length | payload` frames, no ERROR frames.
    public var legacy = false
    /// Seconds the server spends flushing ERROR SHUTTING_DOWN before it exits.
    public var shutdownGracePeriod = 2.0
    /// Seconds a closing connection may take to take its last frame (ERROR, PEER_LEFT).
    public var closeGracePeriod = 2.0

    public init() {}

    /// Descriptors beside connections and pipes: standard streams, the listener, the
    /// event loop's own, the identity files while they are read, and room to spare.
    public static let reservedDescriptors = 32

    /// Descriptors the relay may need at once at these limits: every connection not yet
    /// joined, every peer, two per pipe, and the reserve. The relay refuses to start when
    /// the process's limit is lower.
    public var descriptorsNeeded: Int {
        Self.reservedDescriptors + maxConnections + Session.capacity + 2 * maxPipes
    }
}
