/// What `relay-client` is told on its command line.
public struct RelayClientConfiguration: Sendable {
    /// The name to join under (validated before connecting).
    public var name: String
    public var host = "127.0.0.1"
    public var port = 12345
    /// Speak the original Python relay's format: raw name, raw key, `length | iv | ct`
    /// frames with the unauthenticated cipher. Peers' names are unknown in this format.
    public var legacy = false
    /// Seconds the TLS handshake may take.
    public var handshakeTimeout = 10.0
    /// Seconds to wait for the relay to close after BYE before exiting anyway.
    public var byeTimeout = 5.0
    /// Bytes queued for the relay at which reading standard input pauses.
    public var sendQueueLimit = 4 * 1024 * 1024

    public init(name: String) {
        self.name = name
    }
}
