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

            Commands. A line starting with / is a command: /help, /quit, /verify, /status             (relay, room, peer, encryption e2e or relay-key, verified or not, messages sent             and received), /who; an unknown one prints the help; // sends a line starting             with /.

            Pipe mode and services. --pipe: standard input's bytes go to the peer unchanged             and the peer's bytes come out on standard output, both directions at once, no             lines and no commands (end-to-end: stream records, then an end record at end of             input). Standard output is closed when the peer's end arrives; the client exits             0 once both ends arrived and everything was written, 1 if the peer left before             its end (its last bytes may have been lost). For unattended use add             --require-verified. For example:
              tar c dir | relay-client --name a --pipe --room X
              relay-client --name b --pipe --room X | tar x
            --exec CMD serves CMD (run with /bin/sh -c): each message received is a line on             its standard input, each line it prints is sent (with --pipe, its raw standard             input and output are the streams); the peer's end closes its standard input and             its exit ends the session once its output was delivered. Programs such as tr,             sed or grep buffer their output when it is a pipe: use stdbuf -oL, e.g.
              relay-client --name upper --exec 'stdbuf -oL tr a-z A-Z'
            --progress shows bytes, rate and elapsed time on standard error (the default in             pipe mode when standard error is a terminal; never on standard output).

            Environment. RELAY_HOST, RELAY_PORT, RELAY_NAME and RELAY_ROOM are the defaults             of --host, --port, --name and --room; without --name or RELAY_NAME the name is             the login name.

            Rooms. --room CODE (or RELAY_ROOM) joins a room named by a code; --new-room makes a \
            random code, prints '* room code: CODE' to pass on, and joins it. Without either, \
            the relay's default room.

            Exit codes: 0 after a clean goodbye; 1 when the relay refuses or drops the \
            connection or --connect-timeout runs out; 3 when the session is refused for a \
            security reason (the relay's TLS key is not the one pinned or recorded, a changed \
            peer identity, --require-verified and an unverified peer, SAS digits typed that do \
            not match, records replayed, reordered or dropped, restarted key agreements, a room \
            the relay can read without --trust-relay); 64 for bad usage.
            """,
        version: RelayVersion.string
    )

    @Option(help: "Your name in the session: 1 to 32 bytes of UTF-8, no control or format characters, no line separators, no leading or trailing spaces (environment: RELAY_NAME; default: the login name).")
    var name = ClientDefaults.name()

    @Option(help: "The relay's host name or address (environment: RELAY_HOST).")
    var host = ClientDefaults.environment("RELAY_HOST") ?? "127.0.0.1"

    @Option(help: "The relay's TCP port (environment: RELAY_PORT).")
    var port = ClientDefaults.environment("RELAY_PORT").flatMap { Int($0) } ?? 12345

    @Flag(help: "Pipe mode: standard input's bytes go to the peer unchanged and the peer's bytes to standard output (binary safe, any size, both directions at once). No lines, no commands.")
    var pipe = false

    @Option(help: "Serve CMD (run with /bin/sh -c): each message received is a line on its standard input and each line it prints is sent; with --pipe, its raw standard input and output are the streams. The peer's end closes its input; its exit ends the session. Use stdbuf -oL for programs that buffer pipes.")
    var exec: String?

    @Flag(help: "Show bytes, rate and elapsed time on standard error in pipe mode (the default when standard error is a terminal).")
    var progress = false

    @Flag(help: "Never show progress, even on a terminal.")
    var noProgress = false

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
        guard !name.isEmpty else { throw ValidationError("give --name (or RELAY_NAME): no login name was found") }
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
        if pipe, legacy { throw ValidationError("--pipe cannot be combined with --legacy") }
        if exec != nil, legacy { throw ValidationError("--exec cannot be combined with --legacy") }
        if let exec, exec.isEmpty { throw ValidationError("--exec needs a command") }
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
        configuration.pipe = pipe
        configuration.exec = exec
        configuration.progress = pipe && !noProgress && (progress || isatty(2) == 1)
        if newRoom {
            let code = RoomCode.random()
            StatusLine.write("* room code: \(code)")
            configuration.roomCode = code
        } else if let room {
            configuration.roomCode = room
        } else if !legacy, let room = ClientDefaults.environment("RELAY_ROOM"), !room.isEmpty {
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

/// Defaults taken from the environment and the system (with getenv: Foundation would add
/// megabytes to every peak resident size).
enum ClientDefaults {
    /// The variable's value, nil when unset.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// RELAY_NAME, else the login name (empty when neither is known).
    static func name() -> String {
        if let name = environment("RELAY_NAME"), !name.isEmpty { return name }
        if let entry = getpwuid(geteuid()), let login = entry.pointee.pw_name {
            let name = String(cString: login)
            if !name.isEmpty { return name }
        }
        return environment("LOGNAME") ?? environment("USER") ?? ""
    }
}
