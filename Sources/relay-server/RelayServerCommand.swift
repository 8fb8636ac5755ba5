import ArgumentParser
import Logging
import RelayIO
import RelayServer

@main
struct RelayServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-server",
        abstract: "Relay encrypted messages between two named peers.",
        discussion: """
            Accepts at most two peers, hands both the same fresh 32-byte session key, and \
            forwards their sealed DATA frames unchanged (it never decrypts them). Prints \
            'listening on HOST:PORT' once it listens. SIGINT or SIGTERM stops it cleanly.
            Exit codes: 0 after a clean shutdown, 64 for bad usage, 1 when it cannot run \
            (for example, the port is in use).
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "TCP port to listen on; 0 picks a free port.")
    var port = 12345

    @Option(help: "Largest frame accepted, in bytes (the length field: type byte plus body). Larger frames are refused from their header.")
    var maxFrame: UInt32 = 1_048_576

    @Option(help: "Seconds a new connection has to send its HELLO.")
    var handshakeTimeout = 10.0

    @Option(help: "Bytes that may wait for one receiver before the relay stops reading its sender (backpressure).")
    var queueLimit = 8_388_608

    @Flag(help: "Speak the original Python relay's wire format (raw name, raw 32-byte key, 'length | iv | ciphertext' frames) for its existing clients. Insecure: the session key crosses the network in clear and messages are not authenticated.")
    var legacy = false

    @Flag(help: "Use plain TCP. This is currently the only transport: TLS is not implemented yet, so the session key crosses the network in clear.")
    var insecurePlaintext = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical. Logs go to standard error and never contain keys or payloads.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (1...65535).contains(port) || port == 0 else {
            throw ValidationError("--port must be between 0 and 65535")
        }
        guard maxFrame >= 256, maxFrame <= 1 << 30 else {
            throw ValidationError("--max-frame must be between 256 and 1073741824 bytes")
        }
        guard handshakeTimeout > 0, handshakeTimeout.isFinite else {
            throw ValidationError("--handshake-timeout must be a positive number of seconds")
        }
        guard queueLimit >= 65536 else {
            throw ValidationError("--queue-limit must be at least 65536 bytes")
        }
    }

    func run() throws {
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

        let server = RelayServer(configuration: configuration, logger: logger)
        let address: String
        do {
            address = try server.start().description
        } catch {
            StandardStream.error.writeLine("relay-server: \(error)")
            throw ExitCode.failure
        }
        if legacy {
            logger.warning("legacy mode: the session key is sent in clear and messages are not authenticated; serve only the original Python clients with it")
        } else if !insecurePlaintext {
            logger.warning("plain TCP transport: the session key and frame metadata cross the network unencrypted (TLS is not implemented yet)")
        }
        StandardStream.output.writeLine("listening on \(address)")
        server.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
