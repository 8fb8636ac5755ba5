import RelayCrypto
import RelayProtocol

/// What the relay told the client in WELCOME (version 1 or 2), or the raw key of the
/// legacy protocol.
public struct ClientWelcome: Equatable, Sendable {
    /// The relay's session key K (32 bytes).
    public var sessionKey: [UInt8]
    /// The relay's frame limit (legacy: the client's own).
    public var maxFrame: UInt32
    /// The room's size from a version 2 WELCOME; nil for version 1 and legacy.
    public var roomSize: Int?
    /// The peers already there, in joining order.
    public var peers: [[UInt8]]

    public init(sessionKey: [UInt8], maxFrame: UInt32, roomSize: Int? = nil, peers: [[UInt8]]) {
        self.sessionKey = sessionKey
        self.maxFrame = maxFrame
        self.roomSize = roomSize
        self.peers = peers
    }
}

/// An input of the session: a decoded frame from the relay, a line from the terminal,
/// the end of input, or time.
public enum ClientInput: Equatable, Sendable {
    case welcome(ClientWelcome)
    case peerJoined([UInt8])
    case peerLeft([UInt8])
    /// A DATA body (legacy: a frame's payload).
    case data([UInt8])
    case dataFrom(name: [UInt8], sealed: [UInt8])
    case ping([UInt8])
    case pong
    case relayError(code: UInt16, message: String)
    /// A frame that is valid but not one a relay sends to a client (HELLO, BYE, ...).
    case unexpectedFrame(String)
    /// A frame that does not parse, or is over the limit.
    case unreadable(String)
    /// The relay closed the connection.
    case relayClosed
    /// A line typed (without its newline).
    case line([UInt8])
    /// A line longer than the limit was skipped.
    case overlongLine(byteCount: Int)
    case endOfInput
    /// The current time (``MonotonicClock`` seconds), given by a periodic timer.
    case tick(Double)
}

/// What the session asks of the connection and the terminal.
public enum ClientAction: Equatable, Sendable {
    /// Send a DATA frame with this body (legacy: a frame with this payload).
    case sendData([UInt8])
    case sendPong([UInt8])
    /// Leave: BYE (legacy: half-close once everything is written), then wait for the
    /// relay to close.
    case sendBye
    /// A message line for standard output (without its newline).
    case display(String)
    /// A status or error line for standard error.
    case status(String)
    /// Start reading standard input, splitting lines at this length.
    case startInput(maximumLineCount: Int)
    /// Stop everything and exit with this status.
    case exit(Int32)
}

/// Exit statuses of `relay-client`.
public enum ClientExit {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    /// The session was refused for a security reason.
    public static let security: Int32 = 3
}

/// The conversation with a relay and a peer, with no sockets and no terminal: inputs in,
/// actions out (like swift-nio's HappyEyeballs state machine), so that every path is
/// tested by feeding inputs. ``RelayClient`` drives it from its event loop.
public final class ClientSession {
    /// Where the session is.
    enum State: Equatable {
        /// HELLO sent, waiting for WELCOME (legacy: for the key).
        case awaitingWelcome
        /// Joined; standard input is open.
        case chatting
        /// Standard input ended: waiting for a peer to deliver to.
        case finishing
        /// BYE sent: waiting for the relay to close.
        case leaving
        /// Finished with this exit status.
        case done(Int32)
    }

    /// The static facts the session runs on.
    public struct Settings {
        public var name: PeerName
        /// `HOST:PORT` as the client was told to reach the relay.
        public var relayLabel: String
        /// Speak the legacy protocol (section 4).
        public var legacy = false
        /// The client's own frame limit; WELCOME can only lower it.
        public var maxFrame: UInt32 = 1_048_576
        /// `--trust-relay`: messages sealed under the relay's key (sections 3 and 5).
        public var trustRelay = true

        public init(name: PeerName, relayLabel: String) {
            self.name = name
            self.relayLabel = relayLabel
        }
    }

    let settings: Settings
    private(set) var state = State.awaitingWelcome
    private var cipher: AuthenticatedCipher?
    private var legacyCipher: AESCBCCipher?
    private var peer: PeerName?
    private(set) var maxFrame: UInt32

    public init(settings: Settings) {
        self.settings = settings
        maxFrame = settings.maxFrame
    }

    /// The exit status once the session is over.
    public var exitStatus: Int32? {
        if case .done(let code) = state { code } else { nil }
    }

    /// The longest line that still fits one DATA frame once sealed.
    static func maximumPlaintextCount(maxFrame: UInt32) -> Int {
        // sealed = overhead + padded ciphertext; padding adds 1...16 bytes.
        max(0, Int(maxFrame) - 1 - AuthenticatedCipher.framingOverhead - 16)
    }

    /// Feeds one input; returns what to do, in order.
    public func handle(_ input: ClientInput) -> [ClientAction] {
        var actions: [ClientAction] = []
        if case .done = state { return actions }
        switch (state, input) {
        case (.awaitingWelcome, .welcome(let welcome)):
            joined(welcome, &actions)
        case (_, .welcome):
            fail("! unexpected WELCOME from the relay; disconnecting", &actions)
        case (.awaitingWelcome, .relayClosed):
            fail("! the relay closed the connection before answering HELLO", &actions)
        case (.leaving, .relayClosed):
            finish(ClientExit.success, &actions)
        case (_, .relayClosed):
            fail("! the relay closed the connection", &actions)
        case (_, .relayError(let code, let message)):
            let label = RelayErrorCode(rawValue: code)?.label ?? "relay error \(code)"
            fail("\(label): \(DisplayText.line(from: Array(message.utf8)))", &actions)
        case (_, .unexpectedFrame(let what)):
            fail("! the relay sent an unexpected \(what) frame; disconnecting", &actions)
        case (_, .unreadable(let reason)):
            fail("! the relay sent a frame this client cannot read (\(reason)); disconnecting", &actions)
        case (_, .ping(let body)):
            actions.append(.sendPong(body))
        case (_, .pong):
            break
        case (_, .tick):
            break
        case (.awaitingWelcome, .data):
            fail("! DATA arrived before WELCOME; disconnecting", &actions)
        case (.awaitingWelcome, _):
            fail("! the relay sent a frame before WELCOME; disconnecting", &actions)
        case (_, .peerJoined(let bytes)):
            peer = try? PeerName(validating: bytes)
            actions.append(.status("* \(peer?.text ?? "a peer") joined"))
            finishIfReady(&actions)
        case (_, .peerLeft(let bytes)):
            actions.append(.status("* \(DisplayText.line(from: bytes)) left"))
            peer = nil
        case (_, .data(let body)):
            receive(body, &actions)
        case (_, .dataFrom):
            fail("! the relay sent an unexpected DATA_FROM frame; disconnecting", &actions)
        case (.chatting, .line(let text)):
            send(text, &actions)
        case (_, .line):
            break
        case (_, .overlongLine(let count)):
            actions.append(.status("! a line of \(count) bytes is longer than the relay's limit of \(Self.maximumPlaintextCount(maxFrame: maxFrame)) bytes; skipped"))
        case (.chatting, .endOfInput):
            state = .finishing
            if peer == nil, !settings.legacy { actions.append(.status("* end of input; waiting for a peer to deliver to")) }
            finishIfReady(&actions)
        case (_, .endOfInput):
            break
        }
        return actions
    }

    private func joined(_ welcome: ClientWelcome, _ actions: inout [ClientAction]) {
        var key = welcome.sessionKey
        defer { key.withUnsafeMutableBytes { SecureMemory.wipe($0) } }
        if settings.legacy {
            guard let legacyCipher = try? AESCBCCipher(key: key) else {
                fail("! the relay sent an unusable key; disconnecting", &actions)
                return
            }
            self.legacyCipher = legacyCipher
            state = .chatting
            actions.append(.status("* connected to \(settings.relayLabel) as \(settings.name) (legacy protocol)"))
            actions.append(.startInput(maximumLineCount: Self.maximumPlaintextCount(maxFrame: maxFrame)))
            return
        }
        guard let cipher = try? AuthenticatedCipher(sessionKey: key) else {
            fail("! unexpected WELCOME from the relay; disconnecting", &actions)
            return
        }
        self.cipher = cipher
        // The relay's limit only ever lowers the client's own: a relay cannot make the
        // client buffer more than --max-frame for one frame.
        maxFrame = min(settings.maxFrame, welcome.maxFrame)
        peer = welcome.peers.last.flatMap { try? PeerName(validating: $0) }
        state = .chatting
        actions.append(.status("* connected to \(settings.relayLabel) as \(settings.name)"))
        actions.append(.status(peer.map { "* \($0) is here" } ?? "* waiting for a peer to join"))
        actions.append(.startInput(maximumLineCount: Self.maximumPlaintextCount(maxFrame: maxFrame)))
    }

    private func receive(_ body: [UInt8], _ actions: inout [ClientAction]) {
        if let legacyCipher {
            if let plaintext = try? legacyCipher.decrypt(body) {
                actions.append(.display("peer: \(DisplayText.line(from: plaintext))"))
            } else {
                actions.append(.status("! a message from the peer could not be decrypted; skipped"))
            }
            return
        }
        guard let cipher else { return }
        let sender = peer?.text ?? "peer"
        do {
            let plaintext = try cipher.open(body)
            actions.append(.display("\(sender): \(DisplayText.line(from: plaintext))"))
        } catch {
            actions.append(.status("! a message from \(sender) could not be opened (not authentic under the session key); skipped"))
        }
    }

    private func send(_ text: [UInt8], _ actions: inout [ClientAction]) {
        if let legacyCipher {
            actions.append(.sendData(legacyCipher.encrypt(text)))
        } else if let cipher {
            actions.append(.sendData(cipher.seal(text)))
        }
    }

    /// At end of input: once a peer is present, say BYE (legacy: at once).
    private func finishIfReady(_ actions: inout [ClientAction]) {
        guard state == .finishing, settings.legacy || peer != nil else { return }
        state = .leaving
        actions.append(.sendBye)
    }

    private func fail(_ line: String, _ actions: inout [ClientAction]) {
        actions.append(.status(line))
        finish(ClientExit.failure, &actions)
    }

    private func finish(_ code: Int32, _ actions: inout [ClientAction]) {
        state = .done(code)
        actions.append(.exit(code))
    }
}
