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
    /// Peers joined in all rooms together; a HELLO beyond it gets BUSY.
    public var maxPeers = 20_000
    /// Peers a room other than the default one holds at most (2 to 64); rooms of 3 or
    /// more are group rooms (DATA fans out as DATA_FROM). The default room is always 2.
    public var roomSize = 2
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

    /// Descriptors the relay needs beside its peers: every connection not yet joined,
    /// two per pipe, one pair of peers and the reserve. The relay refuses to start when
    /// the process's limit is lower.
    public var descriptorsNeeded: Int {
        Self.reservedDescriptors + maxConnections + 2 * maxPipes + 2
    }

    /// The peers a descriptor limit of `limit` can serve beside ``descriptorsNeeded``
    /// (at most ``maxPeers``): the relay lowers its `--max-peers` to it, and says so.
    public func peersServed(underDescriptorLimit limit: UInt64) -> Int {
        let spare = Int(clamping: limit) - descriptorsNeeded + 2
        return max(2, min(maxPeers, spare))
    }
}
