import ArgumentParser
import RelayClient
import RelayIO
import RelayProtocol
import RelayTLS

#if canImport(Glibc)
import Glibc
#endif

@main
struct RelayClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-client",
        abstract: "Chat with one peer through a relay, end-to-end encrypted: the relay cannot read or forge messages.",
        discussion: """
            Each line of standard input is one message; messages from the peer are printed to \
            standard output as 'PEER: TEXT'; status lines ('* bob joined') and errors go to \
            standard error (in reverse video on a terminal). At end of input the client waits \
            for a peer and for its messages to be delivered, says goodbye, and exits 0. Works \
            interactively and in pipes:
              printf 'hi\\n' | relay-client --name alice --room 7K3M-QX9P-T2WD-8H

            Modes. By default the two peers agree a key the relay never learns (X25519 with a \
            commitment) and show a short authentication string: '* SAS with bob (agreement 1): \
            048 213'. Compare it with your peer in person or by voice; the same six digits on \
            both sides mean no one is in the middle. Then type /verify (or /verify 048 213 to \
            have the client check the digits): the peer's identity key is recorded in \
            known_peers (beside known_servers) and later sessions say '* bob is verified'. A \
            changed identity is refused. Lines typed before the peer's identity arrived wait; \
            a line starting with / is a command (// sends a line starting with /). \
            --trust-relay instead seals messages under a key the relay draws: the relay (or \
            whoever controls it) can then read every message and forge or change messages \
            undetected; it is needed for rooms of more than two and for older peers. \
            --legacy speaks the original Python relay's format (no end-to-end).

            Rooms. --room CODE (or RELAY_ROOM) joins a room named by a code; --new-room makes a \
            random code, prints '* room code: CODE' to pass on, and joins it. Without either, \
            the relay's default room.

            Exit codes: 0 after a clean goodbye; 1 when the relay refuses or drops the \
            connection or --connect-timeout runs out; 3 when the session is refused for a \
            security reason (the relay's TLS key is not the one pinned or recorded, a changed \
            peer identity, --require-verified and an unverified peer, SAS digits typed that do \
            not match, records replayed, reordered or dropped, restarted key agreements, a room \
            the relay can read without --trust-relay); 64 for bad usage.
            """
    )

    @Option(help: "Your name in the session: 1 to 32 bytes of UTF-8, no control or format characters, no line separators, no leading or trailing spaces.")
    var name: String

    @Option(help: "The relay's host name or address.")
    var host = "127.0.0.1"

    @Option(help: "The relay's TCP port.")
    var port = 12345

    @Flag(help: "Use plain TCP instead of TLS (for a relay started with --insecure-plaintext): the session key crosses the network in clear.")
    var insecurePlaintext = false

    @Option(help: "Verify the relay's certificate against this CA (PEM) and its host name. Takes precedence over --fingerprint and trust on first use.")
    var ca: String?

    @Option(help: "Require the relay's key to have this fingerprint (sha256:HEX, as relay-server prints it at start-up).")
    var fingerprint: String?

    @Option(help: "Trust on first use: where relays' fingerprints are recorded on first connection and checked after (one 'HOST:PORT sha256:HEX' a line). Default: $XDG_CONFIG_HOME/relay/known_servers, else ~/.config/relay/known_servers.")
    var knownServers: String?

    @Option(help: "Client certificate (PEM) for a relay that requires one (mutual TLS). With --key.")
    var cert: String?

    @Option(help: "The client certificate's private key (PEM).")
    var key: String?

    @Option(help: "Client certificate and key as a PKCS#12 bundle (like the original clients' userdata.p12). Its password is read from the environment variable named by --p12-password-env.")
    var p12: String?

    @Option(help: "The environment variable holding the --p12 password (never on the command line, where other users could see it).")
    var p12PasswordEnv: String?

    @Option(help: "Seconds that connecting (every address the host name resolves to, IPv6 and IPv4), the TLS handshake and the relay's answer to HELLO may take together.")
    var connectTimeout = 10.0

    @Option(help: "The largest frame, in bytes, accepted from the relay; a relay announcing a larger limit cannot raise it (it bounds the memory one message can take).")
    var maxFrame: UInt32 = 1_048_576

    @Flag(help: "Speak the original Python relay's format (for relay-server --legacy): the session key crosses the network in clear and messages are not authenticated. Names may be up to 255 bytes; the peer's name is unknown, so its messages print as 'peer: TEXT'.")
    var legacy = false

    @Flag(help: "Seal messages under the relay's session key instead of end-to-end keys: the relay can read and forge them (needed for rooms of more than two, and for peers without end-to-end support).")
    var trustRelay = false

    @Flag(help: "Refuse the session (exit 3) unless the peer is already in known_peers with this identity key (for unattended use).")
    var requireVerified = false

    @Option(help: "Join the room named by this code (also RELAY_ROOM in the environment); pass the same code to your peer.")
    var room: String?

    @Flag(help: "Make a random room code (70 bits), print it on standard error as '* room code: CODE', and join that room.")
    var newRoom = false

    /// `--name` checked by the protocol's rules (255 bytes in legacy mode, 32 otherwise).
    private func validatedName() throws -> PeerName {
        do {
            return try PeerName(
                validating: Array(name.utf8),
                maximumByteCount: legacy ? LegacyFraming.maximumNameCount : PeerName.maximumByteCount)
        } catch {
            throw ValidationError("invalid --name: \(error.reason)")
        }
    }

    func validate() throws {
        _ = try validatedName()
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        guard connectTimeout > 0, connectTimeout <= 86400 else { throw ValidationError("--connect-timeout must be between 0 and 86400 seconds") }
        guard maxFrame >= 256 else { throw ValidationError("--max-frame must be at least 256 bytes") }
        let tlsOptions = [ca, fingerprint, knownServers, cert, key, p12, p12PasswordEnv].contains { $0 != nil }
        if (legacy || insecurePlaintext), tlsOptions {
            throw ValidationError("\(legacy ? "--legacy" : "--insecure-plaintext") is plain TCP: it cannot be combined with TLS options (--ca, --fingerprint, --known-servers, --cert, --key, --p12)")
        }
        if let fingerprint, KeyFingerprint(parsing: fingerprint) == nil {
            throw ValidationError("--fingerprint must look like sha256: followed by 64 hex digits")
        }
        if newRoom, room != nil { throw ValidationError("use either --room or --new-room, not both") }
        if legacy, room != nil || newRoom { throw ValidationError("--legacy has no rooms") }
        if let room, room.isEmpty { throw ValidationError("--room needs a code") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if p12 != nil, cert != nil { throw ValidationError("use either --p12 or --cert/--key, not both") }
        if (p12 == nil) != (p12PasswordEnv == nil) { throw ValidationError("--p12 and --p12-password-env go together") }
    }

    func run() throws {
        let peerName = try validatedName()
        var configuration = RelayClientConfiguration(name: name)
        configuration.host = host
        configuration.port = port
        configuration.legacy = legacy
        configuration.connectTimeout = connectTimeout
        configuration.maxFrame = maxFrame
        configuration.trustRelay = trustRelay
        configuration.requireVerified = requireVerified
        configuration.knownServersPath = knownServers
        if newRoom {
            let code = RoomCode.random()
            StatusLine.write("* room code: \(code)")
            configuration.roomCode = code
        } else if let room {
            configuration.roomCode = room
        } else if !legacy, let room = getenv("RELAY_ROOM").map({ String(cString: $0) }), !room.isEmpty {
            configuration.roomCode = room
        }
        if legacy {
            StandardStream.error.writeLine("warning: legacy mode: the session key crosses the network in clear and messages are not authenticated (anyone on the path can read or change them)")
        }
        let tls: TLSClientContext?
        do {
            tls = legacy || insecurePlaintext ? nil : try makeTLSContext()
        } catch {
            StandardStream.error.writeLine("relay-client: \(error)")
            throw ExitCode.failure
        }
        let client: RelayClient
        do {
            client = try RelayClient(configuration: configuration, name: peerName, tls: tls)
        } catch {
            StandardStream.error.writeLine("relay-client: \(error)")
            throw ExitCode(error.exitCode)
        }
        let status = client.run()
        if status != .success { throw ExitCode(status.rawValue) }
    }

    private func makeTLSContext() throws -> TLSClientContext {
        let trust: ServerTrust
        if let ca {
            trust = .certificateAuthority(path: ca)
        } else if let fingerprint, let pinned = KeyFingerprint(parsing: fingerprint) {
            trust = .pinned(pinned)
        } else {
            trust = .trustOnFirstUse(KnownServers(path: knownServers ?? KnownServers.defaultPath()))
        }
        var certificate: ClientCertificate?
        if let cert, let key {
            certificate = .pem(certificatePath: cert, keyPath: key)
        } else if let p12, let p12PasswordEnv {
            guard let password = SecretEnvironment.take(p12PasswordEnv) else {
                throw ValidationError("the environment variable \(p12PasswordEnv) (--p12-password-env) is not set")
            }
            certificate = .pkcs12(path: p12, password: password)
        }
        return try TLSClientContext(trust: trust, clientCertificate: certificate)
    }
}
