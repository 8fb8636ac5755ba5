import ArgumentParser
import RelayClient
import RelayIO
import RelayProtocol

@main
struct RelayClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-client",
        abstract: "Chat with one peer through a relay, end-to-end sealed.",
        discussion: """
            Each line of standard input is sealed (AES-256-CBC + HMAC-SHA256 under the session \
            key) and sent as one message. Messages from the peer are printed to standard output \
            as 'PEER: TEXT'; status lines ('* bob joined') and errors go to standard error. \
            At end of input the client waits for a peer and for its messages to be written, \
            says goodbye, and exits 0. Works interactively and in pipes:
              printf 'hi\\n' | relay-client --name alice
            Exit codes: 0 after a clean goodbye, 1 when the relay refuses or drops the \
            connection, 64 for bad usage.
            """
    )

    @Option(help: "Your name in the session: 1 to 32 bytes of UTF-8, no control characters, no leading or trailing spaces.")
    var name: String

    @Option(help: "The relay's host name or address.")
    var host = "127.0.0.1"

    @Option(help: "The relay's TCP port.")
    var port = 12345

    @Flag(help: "Use plain TCP. This is currently the only transport: TLS is not implemented yet.")
    var insecurePlaintext = false

    @Flag(help: "Speak the original Python relay's format (for relay-server --legacy): the session key crosses the network in clear and messages are not authenticated. Names may be up to 255 bytes; the peer's name is unknown, so its messages print as 'peer: TEXT'.")
    var legacy = false

    func validate() throws {
        do {
            _ = try PeerName(validating: Array(name.utf8), maximumByteCount: legacy ? LegacyFraming.maximumNameCount : PeerName.maximumByteCount)
        } catch {
            throw ValidationError("invalid --name: \(error.reason)")
        }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
    }

    func run() throws {
        let peerName: PeerName
        do {
            peerName = try PeerName(validating: Array(name.utf8), maximumByteCount: legacy ? LegacyFraming.maximumNameCount : PeerName.maximumByteCount)
        } catch {
            throw ValidationError("invalid --name: \(error.reason)")
        }
        var configuration = RelayClientConfiguration(name: name)
        configuration.host = host
        configuration.port = port
        configuration.legacy = legacy
        if legacy {
            StandardStream.error.writeLine("warning: legacy mode: the session key crosses the network in clear and messages are not authenticated (anyone on the path can read or change them)")
        }
        let client: RelayClient
        do {
            client = try RelayClient(configuration: configuration, name: peerName)
        } catch {
            StandardStream.error.writeLine("relay-client: \(error)")
            throw ExitCode.failure
        }
        let status = client.run()
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
