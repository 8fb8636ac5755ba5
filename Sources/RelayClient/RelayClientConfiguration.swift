/// What `relay-client` is told on its command line.
public struct RelayClientConfiguration: Sendable {
    /// The name to join under (validated before connecting).
    public var name: String
    /// The relay's host name or address.
    public var host = "127.0.0.1"
    /// The relay's TCP port.
    public var port = 12345
    /// Speak the original Python relay's format: raw name, raw key, `length | iv | ct`
    /// frames with the unauthenticated cipher. Peers' names are unknown in this format.
    public var legacy = false
    /// Seconds that connecting (every address the host resolves to), the TLS handshake
    /// and the relay's WELCOME may take together.
    public var connectTimeout = 10.0
    /// The largest frame (`length` field) the client accepts; the relay's WELCOME can
    /// only lower it.
    public var maxFrame: UInt32 = 1_048_576
    /// Seconds to wait for the relay to close after BYE before exiting anyway.
    public var byeTimeout = 5.0
    /// Bytes queued for the relay at which reading standard input pauses.
    public var sendQueueLimit = 4 * 1024 * 1024
    /// `--pipe`: standard input's bytes are the stream, the peer's stream goes to
    /// standard output unchanged.
    public var pipe = false
    /// `--exec CMD`: serve CMD (its output is what is sent, what arrives is its input).
    public var exec: String?
    /// Show progress (bytes, rate, time) on standard error in pipe mode.
    public var progress = false
    /// Bytes waiting for standard output (or the service's input) at which the relay
    /// is no longer read.
    public var outputQueueLimit = 1024 * 1024

    /// `--trust-relay`: messages sealed under the relay's key (sections 3 and 5), which
    /// the relay can read and forge; otherwise end-to-end sessions (section 7).
    public var trustRelay = false
    /// `--require-verified`: refuse a peer not in known_peers with its key.
    public var requireVerified = false
    /// The room code (`--room`, `--new-room`); nil: the default room.
    public var roomCode: String?
    /// The known_servers file in use; known_peers lives beside it.
    public var knownServersPath: String?

    /// Where the identity key lives; nil: ``IdentityStore/defaultDirectory()``.
    public var stateDirectory: String?

    /// A configuration with the defaults and `name`.
    public init(name: String) {
        self.name = name
    }
}
