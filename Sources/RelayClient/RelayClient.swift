#if canImport(Glibc)
import Glibc
#endif
import RelayCrypto
import RelayIO
import RelayProtocol
import RelayTLS

/// Why the client could not start a conversation.
public enum RelayClientError: Error, CustomStringConvertible {
    /// The host could not be resolved, or a socket could not be made.
    case socket(SocketError)
    /// No address of the relay accepted the connection.
    case connect(String)
    /// `--connect-timeout` ran out before the connection was made.
    case timeout(String)
    /// The TLS handshake or the trust decision failed.
    case tls(TLSConnectError)
    /// The end-to-end identity key cannot be used.
    case identity(TLSSetupError)

    public var description: String {
        switch self {
        case .socket(let error): "\(error)"
        case .connect(let text), .timeout(let text): text
        case .tls(let error): "\(error)"
        case .identity(let error): "\(error)"
        }
    }

    /// The process exit code: 3 when the relay's identity does not match, else 1.
    public var exitCode: Int32 {
        switch self {
        case .socket, .connect, .timeout, .identity: 1
        case .tls(let error): error.exitCode
        }
    }
}

/// The `relay-client` loop: one libev loop watches standard input and the socket and
/// feeds what they give to a ``ClientSession`` (the rules, with no I/O), whose actions it
/// carries out on the ``RelayConnection`` (the stream and its wire format) and the
/// ``Terminal`` (lines in, messages and status lines out). Nothing blocks but the
/// terminal writes.
public final class RelayClient {
    /// How the process should exit.
    public enum ExitStatus: Int32 {
        case success = 0
        case failure = 1
        case security = 3
    }

    let configuration: RelayClientConfiguration
    private let name: PeerName
    let loop = EventLoop.makeDefault()
    let connection: RelayConnection
    let session: ClientSession
    let terminal = Terminal()
    var exitCode: Int32?
    var inputWanted = false
    /// Pipe mode or a service: the raw streams (nil: line mode on the terminal).
    var local: LocalStreams?
    var service: ServiceProcess?
    var progress: ProgressMeter?
    var localWriter: IOWatcher?

    var socketReader: IOWatcher!
    private var socketWriter: IOWatcher!
    var standardInputReader: IOWatcher!
    private var byeTimer: TimerWatcher!
    private var welcomeTimer: TimerWatcher!
    private var tickTimer: TimerWatcher!
    /// When connect, TLS and WELCOME must be done (``MonotonicClock`` seconds).
    private let deadline: Double

    /// Connects to the relay (over TLS when `tls` is given, judging the relay's identity
    /// before anything is sent); throws when the relay cannot be reached or trusted.
    /// `notices` receives status lines such as a first-use fingerprint record.
    public init(configuration: RelayClientConfiguration, name: PeerName, tls: TLSClientContext?,
                notices: (String) -> Void = { StatusLine.write($0) }) throws(RelayClientError) {
        self.configuration = configuration
        self.name = name
        Syscall.ignoreSIGPIPE()
        // The identity first: a key file others can read stops the client before it
        // connects.
        var identity: Ed25519PrivateKey?
        if !configuration.trustRelay, !configuration.legacy {
            do {
                identity = try IdentityStore.loadOrCreate(directory: configuration.stateDirectory ?? IdentityStore.defaultDirectory())
            } catch {
                throw .identity(error)
            }
        }
        deadline = MonotonicClock.now() + configuration.connectTimeout
        let fd = try RelayConnector.connect(host: configuration.host, port: configuration.port, deadline: deadline,
                                            timeout: configuration.connectTimeout)
        let stream: ByteStream
        if let tls {
            do {
                let (tlsStream, notice) = try tls.connect(
                    fd: fd, host: configuration.host, port: configuration.port, deadline: deadline,
                    timeout: configuration.connectTimeout)
                stream = tlsStream
                if let notice { notices(notice) }
            } catch {
                Glibc.close(fd)
                throw .tls(error)
            }
        } else {
            stream = PlainStream(fd: fd)
        }
        connection = RelayConnection(stream: stream, legacy: configuration.legacy,
                                     roomHello: configuration.roomCode != nil, maxFrame: configuration.maxFrame)
        var settings = ClientSession.Settings(name: name, relayLabel: "\(configuration.host):\(configuration.port)")
        settings.legacy = configuration.legacy
        settings.maxFrame = configuration.maxFrame
        settings.trustRelay = configuration.trustRelay || configuration.legacy
        settings.requireVerified = configuration.requireVerified
        settings.identity = identity
        settings.pipe = configuration.pipe
        settings.service = configuration.exec != nil && !configuration.pipe
        settings.roomLabel = configuration.roomCode
        settings.knownPeers = KnownPeers(besideKnownServers: configuration.knownServersPath ?? KnownServers.defaultPath())
        session = ClientSession(settings: settings)
        socketReader = IOWatcher(loop: loop, fd: fd, events: .read) { [weak self] _ in self?.handleSocketReadable() }
        socketWriter = IOWatcher(loop: loop, fd: fd, events: .write) { [weak self] _ in self?.flushSocket() }
        standardInputReader = IOWatcher(loop: loop, fd: 0, events: .read) { [weak self] _ in self?.handleStandardInput() }
        byeTimer = TimerWatcher(loop: loop) { [weak self] in self?.finish(ClientExit.success) }
        welcomeTimer = TimerWatcher(loop: loop) { [weak self] in self?.welcomeTimedOut() }
        tickTimer = TimerWatcher(loop: loop) { [weak self] in self?.tick() }
    }

    deinit {
        Glibc.close(connection.stream.fd)
    }

    /// Runs until the conversation ends; returns the process's exit status.
    public func run() -> ExitStatus {
        guard startLocalStreams() else { return .failure }
        connection.sendHello(name: name, room: configuration.roomCode.map(RoomCode.room(for:)))
        flushSocket()
        socketReader.start()
        // Bytes the TLS handshake read ahead are not on the socket any more: read them now.
        if connection.stream.hasBufferedInput { socketReader.feed(.read) }
        welcomeTimer.start(after: max(0.001, deadline - MonotonicClock.now()))
        tickTimer.start(after: 1)
        loop.run()
        return exitCode.flatMap(ExitStatus.init(rawValue:)) ?? .failure
    }

    /// `--connect-timeout` ran out before WELCOME (or, in legacy mode, the key) arrived.
    private func welcomeTimedOut() {
        guard session.state == .awaitingWelcome else { return }
        terminal.status("! the relay did not answer HELLO within \(configuration.connectTimeout) seconds (--connect-timeout); disconnecting")
        finish(ClientExit.failure)
    }

    private func tick() {
        guard exitCode == nil else { return }
        perform(session.handle(.tick(MonotonicClock.now())))
        tickTimer.start(after: 1)
    }

    // MARK: Socket

    private func handleSocketReadable() {
        let inputs: [ClientInput]
        do {
            inputs = try connection.receive()
        } catch {
            terminal.status("! connection to the relay failed: \(error)")
            finish(session.state == .leaving ? ClientExit.success : ClientExit.failure)
            return
        }
        for input in inputs {
            guard exitCode == nil else { break }
            if case .welcome(let welcome) = input {
                welcomeTimer.stop()
                connection.lowerLimit(to: welcome.maxFrame)
            }
            perform(session.handle(input))
        }
        terminal.flushOutput()
        flushLocal()
        flushSocket()
        if exitCode == nil, socketReader.isActive, connection.stream.hasBufferedInput { socketReader.feed(.read) }
    }

    func flushSocket() {
        guard exitCode == nil else { return }
        do {
            if try connection.flush() {
                socketWriter.stop()
            } else {
                socketWriter.start()
            }
        } catch {
            terminal.status("! connection to the relay failed: \(error)")
            finish(ClientExit.failure)
            return
        }
        updateInputWatcher()
    }

    // MARK: Session actions

    func perform(_ actions: [ClientAction]) {
        for action in actions {
            switch action {
            case .sendData, .sendPong:
                connection.send(action)
            case .sendBye:
                connection.send(action)
                byeTimer.start(after: configuration.byeTimeout)
            case .display(let line):
                terminal.display(line)
            case .status(let line):
                terminal.status(line)
            case .startInput(let maximumLineCount):
                terminal.setMaximumLineCount(maximumLineCount)
                local?.setMaximumContent(maximumLineCount)
                inputWanted = true
            case .writeStream(let bytes):
                local?.write(bytes)
                if let progress {
                    progress.received(bytes.count)
                    progress.update()
                }
            case .endStream:
                local?.closeWhenWritten()
            case .exit(let code):
                finish(code)
                return
            }
        }
    }

    // MARK: Standard input

    /// Reads standard input while the session wants lines and the send queue is below
    /// its limit (backpressure: a fast pipe waits for the relay), and not while stream
    /// bytes wait for the peer's identity record.
    func updateInputWatcher() {
        guard inputWanted, local?.isInputOpen ?? terminal.isInputOpen else { return }
        if connection.output.byteCount >= configuration.sendQueueLimit || session.isHoldingInput {
            standardInputReader.stop()
        } else if connection.output.byteCount < configuration.sendQueueLimit / 2 {
            standardInputReader.start()
        }
    }

    func handleStandardInput() {
        let inputs = local?.readInput() ?? terminal.readInput()
        if !(local?.isInputOpen ?? terminal.isInputOpen) { standardInputReader.invalidate() }
        if let progress {
            for case .chunk(let bytes) in inputs { progress.sent(bytes.count) }
            progress.update()
        }
        for input in inputs {
            guard exitCode == nil else { break }
            perform(session.handle(input))
        }
        terminal.flushOutput()
        flushSocket()
    }

    // MARK: Exit

    func finish(_ code: Int32) {
        guard exitCode == nil else { return }
        terminal.flushOutput()
        // A last write attempt, so that a BYE queued just before leaves with us.
        if exitCode == nil { _ = try? connection.flush() }
        exitCode = code
        finishLocalStreams()
        socketReader.invalidate()
        socketWriter.invalidate()
        standardInputReader.invalidate()
        byeTimer.invalidate()
        welcomeTimer.invalidate()
        tickTimer.invalidate()
        loop.stop()
    }
}
