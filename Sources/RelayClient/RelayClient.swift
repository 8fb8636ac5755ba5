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

    public var description: String {
        switch self {
        case .socket(let error): "\(error)"
        case .connect(let text), .timeout(let text): text
        case .tls(let error): "\(error)"
        }
    }

    /// The process exit code: 3 when the relay's identity does not match, else 1.
    public var exitCode: Int32 {
        switch self {
        case .socket, .connect, .timeout: 1
        case .tls(let error): error.exitCode
        }
    }
}

/// The `relay-client` loop: standard input lines are sealed and sent as DATA, DATA from
/// the peer is opened and printed as `PEER: TEXT` on standard output, and every status
/// or error line goes to standard error. One libev loop watches standard input and the
/// socket; nothing blocks but the terminal writes.
public final class RelayClient {
    /// Where the client is in its conversation with the relay.
    enum State: Equatable {
        /// HELLO sent, waiting for WELCOME.
        case awaitingWelcome
        /// Joined; standard input is open.
        case chatting
        /// Standard input ended: waiting for a peer and for our messages to be written.
        case finishing
        /// BYE sent: waiting for the relay to close the connection.
        case leaving
        /// Finished with this exit code.
        case done(Int32)
    }

    /// How the process should exit.
    public enum ExitStatus: Int32 {
        case success = 0
        case failure = 1
    }

    private let configuration: RelayClientConfiguration
    private let name: PeerName
    private let loop = EventLoop.makeDefault()
    private let stream: ByteStream
    private let input = InputBuffer(capacity: 64 * 1024)
    private let output: OutputQueue
    private var state = State.awaitingWelcome
    private var cipher: AuthenticatedCipher?
    private var legacyCipher: AESCBCCipher?
    private var maxFrame = FrameHeader.defaultMaxFrame
    private var peer: PeerName?
    private var lines: LineSplitter
    private var standardOutputBatch: [UInt8] = []
    private var sealBuffer: [UInt8] = []

    private var socketReader: IOWatcher!
    private var socketWriter: IOWatcher!
    private var standardInputReader: IOWatcher!
    private var byeTimer: TimerWatcher!
    private var welcomeTimer: TimerWatcher!
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
        deadline = MonotonicClock.now() + configuration.connectTimeout
        maxFrame = configuration.maxFrame
        let fd = try RelayConnector.connect(host: configuration.host, port: configuration.port, deadline: deadline,
                                            timeout: configuration.connectTimeout)
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
        output = OutputQueue(stream: stream)
        lines = LineSplitter(maximumLineCount: Self.maximumPlaintextCount(maxFrame: configuration.maxFrame))
        socketReader = IOWatcher(loop: loop, fd: fd, events: .read) { [weak self] _ in self?.handleSocketReadable() }
        socketWriter = IOWatcher(loop: loop, fd: fd, events: .write) { [weak self] _ in self?.flushSocket() }
        standardInputReader = IOWatcher(loop: loop, fd: 0, events: .read) { [weak self] _ in self?.handleStandardInput() }
        byeTimer = TimerWatcher(loop: loop) { [weak self] in self?.finish(.success) }
        welcomeTimer = TimerWatcher(loop: loop) { [weak self] in self?.welcomeTimedOut() }
    }

    /// `--connect-timeout` ran out before WELCOME (or, in legacy mode, the key) arrived.
    private func welcomeTimedOut() {
        guard state == .awaitingWelcome else { return }
        report("! the relay did not answer HELLO within \(configuration.connectTimeout) seconds (--connect-timeout); disconnecting")
        finish(.failure)
    }

    deinit {
        Glibc.close(stream.fd)
    }

    /// The longest line that still fits one DATA frame once sealed.
    static func maximumPlaintextCount(maxFrame: UInt32) -> Int {
        // sealed = overhead + padded ciphertext; padding adds 1...16 bytes.
        max(0, Int(maxFrame) - 1 - AuthenticatedCipher.framingOverhead - 16)
    }

    /// Runs until the conversation ends; returns the process's exit status.
    public func run() -> ExitStatus {
        output.append(configuration.legacy ? name.bytes : Frame.hello(name: name.bytes).encoded())
        flushSocket()
        socketReader.start()
        welcomeTimer.start(after: max(0.001, deadline - MonotonicClock.now()))
        loop.run()
        if case .done(let code) = state { return ExitStatus(rawValue: code) ?? .failure }
        return .failure
    }

    // MARK: Socket

    private func handleSocketReadable() {
        let result: IOResult
        do {
            result = try input.read(from: stream, limit: 256 * 1024)
        } catch {
            report("! connection to the relay failed: \(error)")
            finish(state == .leaving ? .success : .failure)
            return
        }
        switch result {
        case .wouldBlock:
            return
        case .processed(0):
            if state == .leaving {
                finish(.success)
            } else if state == .awaitingWelcome {
                report("! the relay closed the connection before answering HELLO")
                finish(.failure)
            } else {
                report("! the relay closed the connection")
                finish(.failure)
            }
        case .processed:
            processFrames()
            writeStandardOutputBatch()
            if !isDone, stream.hasBufferedInput { socketReader.feed(.read) }
        }
    }

    private func processFrames() {
        if configuration.legacy {
            processLegacyFrames()
            return
        }
        var consumed = 0
        defer { input.consume(consumed) }
        let bytes = input.readableBytes
        while !isDone {
            do {
                guard let header = try FrameHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[consumed...]), maxFrame: maxFrame),
                      bytes.count - consumed >= header.frameCount
                else { return }
                let body = UnsafeRawBufferPointer(
                    rebasing: bytes[(consumed + FrameHeader.byteCount)..<(consumed + header.frameCount)])
                consumed += header.frameCount
                if header.type == .data {
                    receive(sealed: body)
                } else if header.type == .welcome {
                    try welcome(WelcomeBody(parsing: body), body: body)
                } else {
                    try handle(Frame.decode(type: header.type, body: body))
                }
            } catch {
                report("! the relay sent a frame this client cannot read (\(error)); disconnecting")
                finish(.failure)
                return
            }
        }
    }

    /// Legacy: 32 raw key bytes, then `length:u32 | iv | ciphertext` frames.
    private func processLegacyFrames() {
        var consumed = 0
        defer { input.consume(consumed) }
        let bytes = input.readableBytes
        if state == .awaitingWelcome {
            guard bytes.count >= AESCBCCipher.keySize else { return }
            let key = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(rebasing: bytes[0..<AESCBCCipher.keySize]))
            defer { SecureMemory.wipe(key) }
            guard let cipher = try? AESCBCCipher(key: key) else { return }
            legacyCipher = cipher
            consumed = AESCBCCipher.keySize
            state = .chatting
            welcomeTimer.stop()
            report("* connected to \(configuration.host):\(configuration.port) as \(name) (legacy protocol)")
            standardInputReader.start()
        }
        while !isDone {
            do {
                guard let count = try LegacyFraming.frameCount(at: UnsafeRawBufferPointer(rebasing: bytes[consumed...]),
                                                               maxFrame: maxFrame),
                      bytes.count - consumed >= count
                else { return }
                let payload = UnsafeRawBufferPointer(rebasing: bytes[(consumed + LegacyFraming.lengthFieldCount)..<(consumed + count)])
                consumed += count
                if let plaintext = try? legacyCipher?.decrypt(payload) {
                    standardOutputBatch.append(contentsOf: "peer: \(DisplayText.line(from: plaintext))\n".utf8)
                } else {
                    report("! a message from the peer could not be decrypted; skipped")
                }
            } catch {
                report("! the relay sent a frame this client cannot read (\(error)); disconnecting")
                finish(.failure)
                return
            }
        }
    }

    private func handle(_ frame: Frame) {
        switch frame {
        case .welcome:
            break  // handled in place by welcome(_:body:), which never copies the key
        case .peerJoined(let bytes):
            peer = try? PeerName(validating: bytes)
            report("* \(peer?.text ?? "a peer") joined")
            finishIfReady()
        case .peerLeft(let bytes):
            report("* \(DisplayText.line(from: bytes)) left")
            peer = nil
        case .ping(let body):
            send(.pong(body))
        case .pong:
            break
        case .error(let code, let message):
            let label = RelayErrorCode(rawValue: code)?.label ?? "relay error \(code)"
            report("\(label): \(DisplayText.line(from: Array(message.utf8)))")
            finish(.failure)
        case .hello, .helloRoom, .welcomeRoom, .dataFrom, .bye, .data:
            report("! the relay sent an unexpected \(frame.type) frame; disconnecting")
            finish(.failure)
        }
    }

    /// Builds the cipher straight from the key bytes in the receive buffer, then wipes them.
    private func welcome(_ welcome: WelcomeBody, body: UnsafeRawBufferPointer) {
        let key = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(rebasing: body[welcome.sessionKeyRange]))
        defer { SecureMemory.wipe(key) }
        guard state == .awaitingWelcome, let cipher = try? AuthenticatedCipher(sessionKey: key) else {
            report("! unexpected WELCOME from the relay; disconnecting")
            finish(.failure)
            return
        }
        self.cipher = cipher
        welcomeTimer.stop()
        // The relay's limit only ever lowers the client's own: a relay cannot make the
        // client buffer more than --max-frame for one frame.
        maxFrame = min(configuration.maxFrame, welcome.maxFrame)
        lines = LineSplitter(maximumLineCount: Self.maximumPlaintextCount(maxFrame: maxFrame))
        peer = try? PeerName(validating: welcome.peer)
        state = .chatting
        report("* connected to \(configuration.host):\(configuration.port) as \(name)")
        report(peer.map { "* \($0) is here" } ?? "* waiting for a peer to join")
        standardInputReader.start()
    }

    private func receive(sealed: UnsafeRawBufferPointer) {
        guard let cipher else {
            report("! DATA arrived before WELCOME; disconnecting")
            finish(.failure)
            return
        }
        let sender = peer?.text ?? "peer"
        do {
            let plaintext = try cipher.open(sealed)
            standardOutputBatch.append(contentsOf: "\(sender): \(DisplayText.line(from: plaintext))\n".utf8)
        } catch {
            report("! a message from \(sender) could not be opened (not authentic under the session key); skipped")
        }
    }

    private func send(_ frame: Frame) {
        output.append(frame.encoded())
        flushSocket()
    }

    private func flushSocket() {
        do {
            if try output.flush() {
                socketWriter.stop()
                finishIfReady()
            } else {
                socketWriter.start()
            }
        } catch {
            report("! connection to the relay failed: \(error)")
            finish(.failure)
            return
        }
        if state == .chatting, output.byteCount < configuration.sendQueueLimit / 2 {
            standardInputReader.start()
        }
    }

    // MARK: Standard input

    private func handleStandardInput() {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            report("! cannot read standard input: \(SystemCallError.message(for: errno))")
            endOfInput()
            return
        }
        if count == 0 {
            endOfInput()
            return
        }
        let items = chunk.withUnsafeBytes { lines.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        for item in items { sendLine(item) }
        flushSocket()
        if output.byteCount >= configuration.sendQueueLimit { standardInputReader.stop() }
    }

    private func sendLine(_ item: LineSplitter.Item) {
        switch item {
        case .overlong(let count):
            report("! a line of \(count) bytes is longer than the relay's limit of \(lines.maximumLineCount) bytes; skipped")
        case .line(let text):
            if let legacyCipher {
                let payload = legacyCipher.encrypt(text)
                sealBuffer.removeAll(keepingCapacity: true)
                payload.withUnsafeBytes { LegacyFraming.appendFrame(payload: $0, to: &sealBuffer) }
                output.append(sealBuffer)
                return
            }
            guard let cipher else { return }
            sealBuffer.removeAll(keepingCapacity: true)
            Frame.appendDataHeader(bodyCount: AuthenticatedCipher.sealedCount(plaintextCount: text.count), to: &sealBuffer)
            text.withUnsafeBytes { cipher.seal($0, appendingTo: &sealBuffer) }
            output.append(sealBuffer)
        }
    }

    private func endOfInput() {
        standardInputReader.invalidate()
        if let last = lines.finish() { sendLine(last) }
        state = .finishing
        if peer == nil, !configuration.legacy { report("* end of input; waiting for a peer to deliver to") }
        flushSocket()
    }

    /// At end of input: once a peer is present and everything is written, say BYE.
    private func finishIfReady() {
        // Legacy: no presence and no BYE; once everything is written, half-close and wait
        // for the relay's close (the end of input is its "bye"). Closing at once could find
        // unread input, and a close with unread input is a reset that discards what the
        // kernel has not sent yet.
        if configuration.legacy, state == .finishing, output.isEmpty {
            state = .leaving
            stream.closeWrite()
            byeTimer.start(after: configuration.byeTimeout)
            return
        }
        guard state == .finishing, peer != nil, output.isEmpty else { return }
        state = .leaving
        output.append(Frame.bye.encoded())
        byeTimer.start(after: configuration.byeTimeout)
        flushSocket()
    }

    // MARK: Output and exit

    private func report(_ line: String) {
        writeStandardOutputBatch()
        StatusLine.write(line)
    }

    private func writeStandardOutputBatch() {
        guard !standardOutputBatch.isEmpty else { return }
        StandardStream.output.write(standardOutputBatch)
        standardOutputBatch.removeAll(keepingCapacity: true)
    }

    private var isDone: Bool {
        if case .done = state { true } else { false }
    }

    private func finish(_ status: ExitStatus) {
        guard !isDone else { return }
        writeStandardOutputBatch()
        state = .done(status.rawValue)
        socketReader.invalidate()
        socketWriter.invalidate()
        standardInputReader.invalidate()
        byeTimer.invalidate()
        welcomeTimer.invalidate()
        loop.stop()
    }
}
