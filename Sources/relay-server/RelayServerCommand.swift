import ArgumentParser
import Logging
#if canImport(Glibc)
import Glibc
#endif
import RelayIO
import RelayProtocol
import RelayServer
import RelayTLS

@main
struct RelayServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-server",
        abstract: "Relay encrypted messages between named peers, in many rooms at once.",
        discussion: """
            Serves many independent rooms on one event loop. Each room is a session: its \
            peers get the same fresh 32-byte key, and their sealed DATA frames are forwarded \
            unchanged (the relay never decrypts them). Version 1 clients share the default \
            room, of two peers. Speaks TLS 1.3 \
            by default with an identity it creates on first start; prints 'fingerprint \
            sha256:HEX' (its key's fingerprint, which clients record or pin), then \
            'listening on HOST:PORT' once it listens. SIGINT or SIGTERM stops it cleanly.
            Exit codes: 0 after a clean shutdown, 64 for bad usage, 1 when it cannot run \
            (for example, the port is in use).
            """,
        version: RelayVersion.string
    )

    @Option(help: "Address to listen on (environment: RELAY_HOST).")
    var host = environment("RELAY_HOST") ?? "127.0.0.1"

    @Option(help: "TCP port to listen on; 0 picks a free port (environment: RELAY_PORT).")
    var port = environment("RELAY_PORT").flatMap { Int($0) } ?? 12345

    @Option(help: "Largest frame accepted, in bytes (the length field: type byte plus body). Larger frames are refused from their header.")
    var maxFrame: UInt32 = 1_048_576

    @Option(help: "Seconds a new connection has to complete its TLS handshake and send its HELLO.")
    var handshakeTimeout = 10.0

    @Option(help: "Bytes that may wait for one receiver before the relay stops reading its sender (backpressure).")
    var queueLimit = 8_388_608

    @Option(help: "Connections not yet joined as peers (in the handshake) allowed at once. When all are taken, a newcomer from a less busy address displaces the oldest handshake of the busiest address; any other newcomer is closed at once.")
    var maxConnections = 512

    @Option(help: "Connections not yet joined allowed at once from one IP address; more from that address are closed at once.")
    var maxPendingPerAddress = 128

    @Option(help: "Peers joined in all rooms together; a HELLO beyond it gets ERROR BUSY. Lowered at start to what the descriptor limit can serve.")
    var maxPeers = 20_000

    @Option(help: "Peers a room holds at most (2 to 64). In rooms of 3 or more every message goes to every other peer, tagged with its sender. The default room (version 1 clients, no room) always holds 2.")
    var roomSize = 2

    @Flag(help: "Speak the original Python relay's wire format (raw name, raw 32-byte key, 'length | iv | ciphertext' frames) for its existing clients. Insecure: the session key crosses the network in clear and messages are not authenticated.")
    var legacy = false

    @Flag(help: "Use plain TCP instead of TLS: the session key then crosses the network in clear. Clients must use --insecure-plaintext too.")
    var insecurePlaintext = false

    @Option(help: "The server certificate (PEM). With --tls-key; without both, the identity in --state-dir is used (created on first start).")
    var tlsCert: String?

    @Option(help: "The server certificate's private key (PEM).")
    var tlsKey: String?

    @Option(help: "Where the server keeps the TLS identity it creates for itself: an ECDSA P-256 key (mode 0600) and a self-signed certificate. Default: $XDG_STATE_HOME/relay, else ~/.local/state/relay.")
    var stateDir: String?

    @Option(help: "Require client certificates signed by this CA (PEM): mutual TLS. A HELLO's name must then equal the certificate's common name or one of its DNS names.")
    var clientCa: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical. Logs go to standard error and never contain keys or payloads.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        let tlsOptions = [tlsCert, tlsKey, stateDir, clientCa].contains { $0 != nil }
        if legacy, tlsOptions {
            throw ValidationError("--legacy is always plain TCP: it cannot be combined with --tls-cert, --tls-key, --state-dir or --client-ca")
        }
        if insecurePlaintext, tlsOptions {
            throw ValidationError("--insecure-plaintext cannot be combined with --tls-cert, --tls-key, --state-dir or --client-ca")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard (1...65535).contains(port) || port == 0 else {
            throw ValidationError("--port must be between 0 and 65535")
        }
        guard maxFrame >= 256, maxFrame <= 1 << 30 else {
            throw ValidationError("--max-frame must be between 256 and 1073741824 bytes")
        }
        guard handshakeTimeout > 0, handshakeTimeout.isFinite else {
            throw ValidationError("--handshake-timeout must be a positive number of seconds")
        }
        guard maxConnections >= 1 else {
            throw ValidationError("--max-connections must be at least 1")
        }
        guard maxPeers >= 2 else {
            throw ValidationError("--max-peers must be at least 2")
        }
        guard (2...64).contains(roomSize) else {
            throw ValidationError("--room-size must be between 2 and 64")
        }
        guard maxPendingPerAddress >= 1 else {
            throw ValidationError("--max-pending-per-address must be at least 1")
        }
        guard queueLimit >= 65536 else {
            throw ValidationError("--queue-limit must be at least 65536 bytes")
        }
    }

    func run() throws {
        // Without TZ, glibc stats /etc/localtime again for every timestamp (one syscall
        // per log line); naming the same zone explicitly lets it keep what it loaded.
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "relay-server")

        var configuration = RelayServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxFrame = maxFrame
        configuration.handshakeTimeout = handshakeTimeout
        configuration.queueLimit = queueLimit
        configuration.legacy = legacy
        configuration.maxConnections = maxConnections
        configuration.maxPendingPerAddress = maxPendingPerAddress
        configuration.maxPeers = maxPeers
        configuration.roomSize = roomSize

        var tls: TLSServerContext?
        var fingerprint: KeyFingerprint?
        if !legacy, !insecurePlaintext {
            do {
                let identity: ServerIdentity
                if let tlsCert, let tlsKey {
                    identity = try ServerIdentity.load(certificatePath: tlsCert, keyPath: tlsKey)
                } else {
                    identity = try ServerIdentity.loadOrCreate(in: stateDir ?? ServerIdentity.defaultStateDirectory())
                    if identity.wasCreated {
                        logger.notice("created a TLS identity", metadata: ["certificate": "\(identity.certificatePath)", "key": "\(identity.keyPath)"])
                    }
                }
                tls = try TLSServerContext(identity: identity, clientCAPath: clientCa)
                fingerprint = identity.fingerprint
            } catch {
                StandardStream.error.writeLine("relay-server: \(error)")
                throw ExitCode.failure
            }
        }

        var descriptors: DescriptorLimit?
        do {
            let limit = try DescriptorLimit.raiseToHard()
            descriptors = limit
            guard limit.soft >= UInt64(configuration.descriptorsNeeded) else {
                StandardStream.error.writeLine(
                    "relay-server: --max-connections \(maxConnections) needs about \(configuration.descriptorsNeeded) "
                        + "descriptors, but this process may open only \(limit.soft) (ulimit -n; hard limit \(limit.hard)); "
                        + "lower --max-connections or raise the limit")
                throw ExitCode.validationFailure
            }
            configuration.maxPeers = configuration.peersServed(underDescriptorLimit: limit.soft)
        } catch let error as SystemCallError {
            logger.warning("cannot read or raise the descriptor limit", metadata: ["error": "\(error)"])
        }

        let server = RelayServer(configuration: configuration, tls: tls, logger: logger)
        let address: String
        do {
            address = try server.start().description
        } catch {
            StandardStream.error.writeLine("relay-server: \(error)")
            throw ExitCode.failure
        }
        if legacy {
            logger.warning("legacy mode: the session key is sent in clear and messages are not authenticated; serve only the original Python clients with it")
        } else if insecurePlaintext {
            logger.warning("plain TCP (--insecure-plaintext): the session key crosses the network in clear")
        }
        if let descriptors {
            logger.info("descriptor limit raised to the hard limit", metadata: [
                "soft": "\(descriptors.soft)", "hard": "\(descriptors.hard)", "needed": "\(configuration.descriptorsNeeded)",
            ])
            if configuration.maxPeers < maxPeers {
                logger.warning("the descriptor limit serves fewer peers than --max-peers; lowered", metadata: [
                    "max-peers": "\(configuration.maxPeers)", "asked": "\(maxPeers)", "limit": "\(descriptors.soft)",
                ])
            }
        }
        if let fingerprint { StandardStream.output.writeLine("fingerprint \(fingerprint)") }
        StandardStream.output.writeLine("listening on \(address)")
        server.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// An environment variable, read without Foundation (which would add about 7 MiB to the
/// relay's resident size).
private func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
