import RelayCrypto
import RelayProtocol
import RelayTLS

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
    /// Pipe mode: bytes read from standard input (or a service's output), sent as they
    /// are (at most ``ClientSession/maximumStreamChunk`` bytes).
    case chunk([UInt8])
    /// Pipe mode or a service: the local output (standard output, or the service's
    /// input) was written out and closed after the peer's end.
    case outputClosed
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
    /// Pipe mode (and a service's input): these bytes, unchanged, to the local output.
    case writeStream([UInt8])
    /// Pipe mode or a service: the peer's end arrived; close the local output once
    /// written.
    case endStream
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
///
/// Two modes: end-to-end (the default, PROTOCOL.md section 7: an agreement per peer,
/// records under keys the relay never learns) and `--trust-relay` (sections 3 and 5:
/// messages sealed under the relay's key K; also every legacy session).
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
        /// Speak the legacy protocol (section 4); implies ``trustRelay``.
        public var legacy = false
        /// The client's own frame limit; WELCOME can only lower it.
        public var maxFrame: UInt32 = 1_048_576
        /// `--trust-relay`: messages sealed under the relay's key (sections 3 and 5).
        public var trustRelay = true
        /// `--require-verified`: refuse a peer that is not in known_peers with its key.
        public var requireVerified = false
        /// The long-term identity key (end-to-end mode); a fresh one when nil.
        public var identity: Ed25519PrivateKey?
        /// Where verified peers are recorded; nil: nowhere (nothing is recorded).
        public var knownPeers: KnownPeers?
        /// `--pipe`: standard input's bytes are the stream (no lines, no commands).
        public var pipe = false
        /// `--exec` in line mode: messages go to the service as bare lines and its lines
        /// are messages (no commands).
        public var service = false
        /// The room code for `/status` (nil: the default room).
        public var roomLabel: String?
        /// The clock (seconds), for the 10 s notice.
        public var clock: () -> Double = { MonotonicClock.now() }

        public init(name: PeerName, relayLabel: String) {
            self.name = name
            self.relayLabel = relayLabel
        }
    }

    /// The most agreements one connection runs (7.1).
    static let maximumAgreements = 3
    /// The most aborted agreements (7.2) before the session is refused.
    static let maximumAborted = 3
    /// Seconds after which a pending agreement is reported (7.5).
    static let slowAgreement = 10.0

    let settings: Settings
    var state = State.awaitingWelcome
    var trustRelay: Bool { settings.trustRelay || settings.legacy }
    private(set) var cipher: AuthenticatedCipher?
    private(set) var legacyCipher: AESCBCCipher?
    private var sessionKey: [UInt8] = []
    /// The peer of a room of two.
    private(set) var peer: PeerName?
    /// A room of more than two (trust-relay only): the others present.
    private(set) var groupRoom = false
    private(set) var members: [[UInt8]] = []
    private(set) var maxFrame: UInt32
    /// A peer was here once (issue 13: end of input after it left need not wait).
    private(set) var hadPeer = false
    /// Trust-relay: messages sent since the last peer left (queued by the relay).
    var sentWithoutPeer = 0
    private let identity: Ed25519PrivateKey

    // End-to-end state.
    private(set) var agreement: EndToEndAgreement?
    private(set) var agreementCount = 0
    private(set) var abortedCount = 0
    /// Lines typed before the peer's identity record arrived.
    var pending: [[UInt8]] = []
    /// The number of the last agreement whose SAS was shown.
    private var lastSASAgreement: Int?
    private(set) var peerVerified = false
    /// `/verify` was typed for this agreement before the peer's identity record arrived.
    private var verifyOnIdentity: Int?

    // Counters for `/status`, and the two ends of a stream (pipe mode, services).
    /// Messages (pipe mode: chunks) sealed and sent.
    public internal(set) var messagesSent = 0
    /// Messages (pipe mode: chunks) opened and accepted.
    public internal(set) var messagesReceived = 0
    /// This side's end (end record, or empty relay-key message) was sent.
    var ownEnded = false
    /// The peer's end arrived (kept when the peer leaves, unlike its agreement).
    var streamPeerEnded = false
    /// The local output was closed after the peer's end.
    var outputClosed = false

    public init(settings: Settings) {
        self.settings = settings
        maxFrame = settings.maxFrame
        identity = settings.identity ?? Ed25519PrivateKey()
    }

    deinit {
        sessionKey.withUnsafeMutableBytes { SecureMemory.wipe($0) }
    }

    /// The exit status once the session is over.
    public var exitStatus: Int32? {
        if case .done(let code) = state { code } else { nil }
    }

    /// The longest line that still fits one DATA frame once sealed under K.
    static func maximumPlaintextCount(maxFrame: UInt32) -> Int {
        // sealed = overhead + padded ciphertext; padding adds 1...16 bytes.
        max(0, Int(maxFrame) - 1 - AuthenticatedCipher.framingOverhead - 16)
    }

    /// The longest line that fits one end-to-end record in a DATA frame.
    static func maximumRecordContentCount(maxFrame: UInt32) -> Int {
        // record = 57 + padded (kind | content); padding adds 1...16 bytes.
        max(0, Int(maxFrame) - 1 - E2ERecord.framingOverhead - 1 - 16)
    }

    var maximumLineCount: Int {
        trustRelay ? Self.maximumPlaintextCount(maxFrame: maxFrame) : Self.maximumRecordContentCount(maxFrame: maxFrame)
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
            tick(&actions)
        case (.awaitingWelcome, .data):
            fail("! DATA arrived before WELCOME; disconnecting", &actions)
        case (.awaitingWelcome, .line), (.awaitingWelcome, .overlongLine), (.awaitingWelcome, .endOfInput):
            break
        case (.awaitingWelcome, _):
            fail("! the relay sent a frame before WELCOME; disconnecting", &actions)
        case (_, .peerJoined(let bytes)):
            peerJoined(bytes, &actions)
        case (_, .peerLeft(let bytes)):
            peerLeft(bytes, &actions)
        case (_, .data(let body)):
            if trustRelay {
                receiveRelayKeyed(body, from: peer?.text ?? "peer", &actions)
            } else {
                receiveEndToEnd(body, &actions)
            }
        case (_, .dataFrom(let name, let sealed)):
            if trustRelay {
                receiveRelayKeyed(sealed, from: DisplayText.line(from: name), &actions)
            } else {
                refuseGroupRoom("the relay sent a message from \(DisplayText.line(from: name)) of a room of more than two", &actions)
            }
        case (.chatting, .line(let text)):
            line(text, &actions)
        case (_, .line):
            break
        case (_, .overlongLine(let count)):
            actions.append(.status("! a line of \(count) bytes is longer than the relay's limit of \(maximumLineCount) bytes; skipped"))
        case (.chatting, .endOfInput):
            state = .finishing
            endOfInput(&actions)
        case (_, .endOfInput):
            break
        case (.chatting, .chunk(let bytes)):
            sendChunk(bytes, &actions)
        case (_, .chunk):
            break
        case (_, .outputClosed):
            outputClosed = true
            finishIfReady(&actions)
        }
        return actions
    }

    // MARK: Joining and presence

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
            actions.append(.startInput(maximumLineCount: maximumLineCount))
            return
        }
        guard key.count == SessionKey.byteCount, let cipher = try? AuthenticatedCipher(sessionKey: key) else {
            fail("! unexpected WELCOME from the relay; disconnecting", &actions)
            return
        }
        // The relay's limit only ever lowers the client's own: a relay cannot make the
        // client buffer more than --max-frame for one frame.
        maxFrame = min(settings.maxFrame, welcome.maxFrame)
        if let roomSize = welcome.roomSize, roomSize > 2 {
            guard trustRelay else {
                refuseGroupRoom("the relay announced a room of up to \(roomSize) peers", &actions, sendBye: false)
                return
            }
            groupRoom = true
            members = welcome.peers
        }
        if trustRelay {
            self.cipher = cipher
        } else {
            sessionKey = key
        }
        state = .chatting
        actions.append(.status("* connected to \(settings.relayLabel) as \(settings.name)"
            + (groupRoom ? " (a room of up to \(welcome.roomSize ?? 0))" : "")))
        if groupRoom {
            for member in members { actions.append(.status("* \(DisplayText.line(from: member)) joined")) }
            if members.isEmpty { actions.append(.status("* waiting for a peer to join")) }
            hadPeer = !members.isEmpty
        } else {
            peer = welcome.peers.last.flatMap { try? PeerName(validating: $0) }
            hadPeer = peer != nil
            actions.append(.status(peer.map { "* \($0) is here" } ?? "* waiting for a peer to join"))
        }
        actions.append(.startInput(maximumLineCount: maximumLineCount))
        if !trustRelay, let peer {
            startAgreement(role: .responder, peer: peer, &actions)
        }
    }

    private func peerJoined(_ bytes: [UInt8], _ actions: inout [ClientAction]) {
        if groupRoom {
            members.append(bytes)
            hadPeer = true
            actions.append(.status("* \(DisplayText.line(from: bytes)) joined"))
            finishIfReady(&actions)
            return
        }
        guard let joined = try? PeerName(validating: bytes) else { return }
        if !trustRelay, peer != nil {
            fail("! the relay announced \(joined) while \(peer!) is still here (a protocol error); disconnecting", &actions)
            return
        }
        peer = joined
        hadPeer = true
        actions.append(.status("* \(joined) joined"))
        if trustRelay {
            finishIfReady(&actions)
        } else {
            startAgreement(role: .initiator, peer: joined, &actions)
        }
    }

    private func peerLeft(_ bytes: [UInt8], _ actions: inout [ClientAction]) {
        let name = DisplayText.line(from: bytes)
        if groupRoom {
            if let index = members.firstIndex(of: bytes) { members.remove(at: index) }
            actions.append(.status("* \(name) left"))
            return
        }
        if settings.pipe, streamPeerLeft(name, &actions) { return }
        if let agreement, agreement.peerIdentity != nil, !agreement.peerEnded {
            actions.append(.status("! \(name) left without its end record: \(name)'s last messages may have been lost"))
        }
        actions.append(.status("* \(name) left"))
        agreement?.wipe()
        agreement = nil
        peer = nil
        peerVerified = false
        verifyOnIdentity = nil
        sentWithoutPeer = 0
        if !pending.isEmpty, !settings.pipe {
            actions.append(.status("* \(pending.count) line\(pending.count == 1 ? "" : "s") typed for \(name) and not sent: discarded"))
            pending.removeAll()
        }
        if state == .finishing { finishIfReady(&actions) }
    }

    // MARK: Trust-relay messages (sections 3 and 4)

    private func receiveRelayKeyed(_ body: [UInt8], from sender: String, _ actions: inout [ClientAction]) {
        if let legacyCipher {
            if let plaintext = try? legacyCipher.decrypt(body) {
                deliverMessage(plaintext, from: "peer", &actions)
            } else {
                actions.append(.status("! a message from the peer could not be decrypted; skipped"))
            }
            return
        }
        guard let cipher else { return }
        do {
            let plaintext = try cipher.open(body)
            if settings.pipe {
                receiveRelayKeyedChunk(plaintext, from: sender, &actions)
            } else {
                deliverMessage(plaintext, from: sender, &actions)
            }
        } catch {
            actions.append(.status("! a message from \(sender) could not be opened (not authentic under the session key); skipped"))
        }
    }

    /// A message opened, in line mode or for a line service: counted, then a line on the
    /// service's input, or displayed as `sender: text`.
    private func deliverMessage(_ content: [UInt8], from sender: String, _ actions: inout [ClientAction]) {
        messagesReceived += 1
        if settings.service {
            deliverLine(content, &actions)
        } else {
            actions.append(.display("\(sender): \(DisplayText.line(from: content))"))
        }
    }

    // MARK: End-to-end (section 7)

    private func startAgreement(role: E2ERole, peer: PeerName, _ actions: inout [ClientAction]) {
        guard agreementCount < Self.maximumAgreements else {
            refuse("! the relay keeps restarting the key agreement (a \(agreementCount + 1)th with \(peer)): it could retry until two SAS happen to match; refusing the session", &actions)
            return
        }
        agreementCount += 1
        let agreement = EndToEndAgreement(
            number: agreementCount, role: role, ownName: settings.name.bytes, peerName: peer.bytes,
            sessionKey: sessionKey, startedAt: settings.clock())
        self.agreement = agreement
        for body in agreement.start() { actions.append(.sendData(body)) }
    }

    private func receiveEndToEnd(_ body: [UInt8], _ actions: inout [ClientAction]) {
        let sender = peer?.text ?? "the peer"
        switch body.first {
        case 0x01:
            actions.append(.status("! a message sealed under the relay's key arrived (the relay could have written it): refused"))
        case E2EAgreementMessage.typeByte:
            receiveAgreementMessage(body, &actions)
        case E2ERecord.typeByte:
            receiveRecord(body, &actions)
        default:
            actions.append(.status("! a message from \(sender) of an unknown type (first byte \(body.first.map { String($0) } ?? "none")): refused"))
        }
    }

    private func receiveAgreementMessage(_ body: [UInt8], _ actions: inout [ClientAction]) {
        guard let agreement, let peer else { return }  // no agreement: discarded silently
        switch agreement.receiveAgreementMessage(body) {
        case .ignored:
            break
        case .late:
            actions.append(.status("! a key-agreement message from \(peer) after agreement \(agreement.number) completed: ignored"))
        case .send(let bodies):
            for body in bodies { actions.append(.sendData(body)) }
        case .completed(let bodies):
            for body in bodies { actions.append(.sendData(body)) }
            agreementCompleted(agreement, peer: peer, &actions)
        case .aborted(let reason):
            abortedCount += 1
            actions.append(.status("! the key agreement with \(peer) (agreement \(agreement.number)) was aborted: \(reason)"))
            if abortedCount >= Self.maximumAborted {
                refuse("! the relay keeps restarting the key agreement (\(abortedCount) aborted): refusing the session", &actions)
            }
        }
    }

    private func agreementCompleted(_ agreement: EndToEndAgreement, peer: PeerName, _ actions: inout [ClientAction]) {
        guard let sas = agreement.sas, let transcript = agreement.transcript else { return }
        lastSASAgreement = agreement.number
        actions.append(.status("* SAS with \(peer) (agreement \(agreement.number)): \(sas)"))
        actions.append(.status("* compare it with \(peer)'s (in person or by voice): the same six digits on both sides mean no one is in the middle"))
        let content = E2EIdentity.content(identityKey: identity, role: agreement.role, transcript: transcript)
        if let record = agreement.seal(.identity, content) { actions.append(.sendData(record)) }
    }

    private func receiveRecord(_ body: [UInt8], _ actions: inout [ClientAction]) {
        // Records before this agreement's keys exist cannot be used: discarded silently.
        guard let agreement, agreement.step == .complete, let receiver = agreement.receiver, let peer else { return }
        let opened: E2EOpenedRecord
        do {
            opened = try receiver.receive(body)
        } catch {
            guard case .unexpectedSequenceNumber(let expected, let received) = error else {
                actions.append(.status("! a message from \(peer) could not be authenticated (changed, reflected, or not from \(peer)): refused"))
                return
            }
            refuse("! a message from \(peer) was replayed, reordered or dropped (record \(received), expected \(expected)): refused; the relay is interfering", &actions)
            return
        }
        guard agreement.peerIdentity != nil else {
            guard opened.kind == .identity, let transcript = agreement.transcript else {
                refuse("! \(peer)'s first record is not its identity record: refused", &actions)
                return
            }
            guard let key = try? E2EIdentity.verify(opened.content, signerRole: agreement.role.peer, transcript: transcript) else {
                refuse("! \(peer)'s identity record does not verify: refused", &actions)
                return
            }
            agreement.peerIdentity = key
            identityChecked(key, agreement: agreement, peer: peer, &actions)
            return
        }
        if agreement.peerEnded, opened.kind != nil {
            actions.append(.status("! a record from \(peer) after its end record: refused"))
            return
        }
        switch opened.kind {
        case .identity:
            refuse("! \(peer) sent a second identity record: refused", &actions)
        case .chat where settings.pipe:
            actions.append(.status("! a chat message from \(peer) is not part of a stream (pipe mode): refused"))
        case .chat:
            deliverMessage(opened.content, from: "\(peer)", &actions)
        case .stream where settings.pipe:
            messagesReceived += 1
            actions.append(.writeStream(opened.content))
        case .stream:
            actions.append(.status("! stream bytes from \(peer) (pipe mode) are not shown in line mode: refused"))
        case .end:
            agreement.peerEnded = true
            if settings.pipe || settings.service { peerStreamEnded(&actions) }
        case nil:
            actions.append(.status("! a record of unknown kind \(opened.kindByte) from \(peer): refused"))
        }
    }

    private func identityChecked(_ key: Ed25519PublicKey, agreement: EndToEndAgreement, peer: PeerName,
                                 _ actions: inout [ClientAction]) {
        let fingerprint = key.fingerprint
        var known: KnownPeers.Entry?
        if let knownPeers = settings.knownPeers {
            do {
                known = try knownPeers.entry(relay: settings.relayLabel, name: peer.bytes)
            } catch {
                refuse("! \(error)", &actions)
                return
            }
        }
        if let known, known.key == key.rawRepresentation {
            peerVerified = true
            actions.append(.status("* \(peer) is verified (\(fingerprint))"))
        } else if let known, let path = settings.knownPeers?.path {
            let recorded = E2EIdentity.fingerprint(identityPublicKey: known.key)
            actions.append(.status("! WARNING: \(peer)'s identity has changed."))
            actions.append(.status("!   recorded for \(peer): \(recorded) (\(path), line \(known.line))"))
            actions.append(.status("!   presented now:  \(fingerprint)"))
            actions.append(.status("! Someone (the relay?) may be impersonating \(peer), or \(peer) has a new key."))
            actions.append(.status("! If the change is expected, delete line \(known.line) of \(path) and verify \(peer) again."))
            refuse("! refusing the session", &actions)
            return
        } else if settings.requireVerified {
            refuse("! \(peer) (\(fingerprint)) is not in \(settings.knownPeers?.path ?? "known_peers") with this key (--require-verified): refusing the session", &actions)
            return
        } else {
            actions.append(.status("* \(peer)'s fingerprint: \(fingerprint)"))
            actions.append(.status("* \(peer) is not verified: compare the SAS, then type /verify"))
        }
        if verifyOnIdentity == agreement.number, !peerVerified { record(key, peer: peer, &actions) }
        verifyOnIdentity = nil
        for content in pending {
            if let record = agreement.seal(settings.pipe ? .stream : .chat, content) {
                actions.append(.sendData(record))
                messagesSent += 1
            }
        }
        pending.removeAll()
        if state == .finishing { finishIfReady(&actions) }
    }

    /// The peer's identity arrived: lines may be sealed.
    private var isReady: Bool { agreement?.peerIdentity != nil && state != .done(0) }

    private func line(_ text: [UInt8], _ actions: inout [ClientAction]) {
        var message = text
        if !settings.service {
            switch ClientCommand.parse(text) {
            case .message(let typed):
                message = typed
            case .command(let command):
                run(command, &actions)
                return
            }
        }
        if trustRelay {
            sendRelayKeyed(message, &actions)
            return
        }
        if let agreement, agreement.peerIdentity != nil {
            if let record = agreement.seal(.chat, message) {
                actions.append(.sendData(record))
                messagesSent += 1
            }
        } else {
            pending.append(message)
        }
    }

    /// Seals `bytes` under K (legacy: the raw key) and sends it; `counted` messages show
    /// in `/status` (a stream's empty end message does not).
    func sendRelayKeyed(_ bytes: [UInt8], counted: Bool = true, _ actions: inout [ClientAction]) {
        if let legacyCipher {
            actions.append(.sendData(legacyCipher.encrypt(bytes)))
        } else if let cipher {
            actions.append(.sendData(cipher.seal(bytes)))
            if !groupRoom, peer == nil { sentWithoutPeer += 1 }
        } else {
            return
        }
        if counted { messagesSent += 1 }
    }

    /// `/verify` or `/verify DDD DDD` (7.4): `arguments` are the words after the command.
    func verify(_ arguments: [String], _ actions: inout [ClientAction]) {
        let digits = arguments.joined()
        guard digits.isEmpty || (digits.count == 6 && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)) else {
            actions.append(.status("! usage: /verify, or /verify DDD DDD with the six digits of the SAS"))
            return
        }
        guard let agreement, let peer, let sas = agreement.sas, lastSASAgreement == agreement.number else {
            if let number = lastSASAgreement {
                actions.append(.status("! /verify: agreement \(number) is no longer the current one; wait for a new SAS and compare it"))
            } else {
                actions.append(.status("! /verify: no SAS has been shown yet; wait for it and compare it first"))
            }
            return
        }
        if !digits.isEmpty, digits != String(sas.filter { $0 != " " }) {
            refuse("! the digits typed (\(digits)) are not the SAS of agreement \(agreement.number) (\(sas)): someone may be in the middle; nothing recorded, refusing the session", &actions)
            return
        }
        guard let key = agreement.peerIdentity else {
            // The SAS is this agreement's: record the identity as soon as it checks out.
            verifyOnIdentity = agreement.number
            actions.append(.status("* \(peer)'s identity record has not arrived yet: it will be recorded when it does"))
            return
        }
        record(key, peer: peer, &actions)
    }

    /// Records a verified peer in known_peers.
    private func record(_ key: Ed25519PublicKey, peer: PeerName, _ actions: inout [ClientAction]) {
        if peerVerified {
            actions.append(.status("* \(peer) is already verified (\(key.fingerprint))"))
            return
        }
        if let knownPeers = settings.knownPeers {
            do {
                try knownPeers.record(relay: settings.relayLabel, name: peer.bytes, key: key.rawRepresentation)
            } catch {
                actions.append(.status("! cannot record \(peer): \(error)"))
                return
            }
            actions.append(.status("* \(peer) is verified (\(key.fingerprint)); recorded in \(knownPeers.path)"))
        } else {
            actions.append(.status("* \(peer) is verified (\(key.fingerprint))"))
        }
        peerVerified = true
    }

    private func endOfInput(_ actions: inout [ClientAction]) {
        if finishIfReady(&actions) { return }
        if !groupRoom, peer == nil, !settings.legacy {
            actions.append(.status("* end of input; waiting for a peer to deliver to"))
        }
    }

    /// At end of input: once everything can be delivered, end record (end-to-end) and
    /// BYE. After the peer left with nothing undelivered, at once (issue 13).
    @discardableResult
    func finishIfReady(_ actions: inout [ClientAction]) -> Bool {
        guard state == .finishing else { return false }
        let ready: Bool
        if settings.pipe {
            sendStreamEnd(&actions)
            ready = ownEnded && streamPeerEnded && outputClosed
        } else if settings.legacy {
            ready = true
        } else if groupRoom {
            ready = !members.isEmpty
        } else if trustRelay {
            ready = peer != nil || (hadPeer && sentWithoutPeer == 0)
        } else if let agreement, agreement.peerIdentity != nil {
            if let record = agreement.seal(.end, []) { actions.append(.sendData(record)) }
            ready = true
        } else {
            ready = peer == nil && hadPeer && pending.isEmpty
        }
        guard ready else { return false }
        state = .leaving
        actions.append(.sendBye)
        return true
    }

    private func tick(_ actions: inout [ClientAction]) {
        guard let agreement, let peer, agreement.step != .complete, agreement.step != .aborted, !agreement.slowNoticeShown,
              settings.clock() - agreement.startedAt >= Self.slowAgreement
        else { return }
        agreement.slowNoticeShown = true
        actions.append(.status("! no key agreement with \(peer) after \(Int(Self.slowAgreement)) seconds: \(peer) may run an older client, or the relay interferes; still waiting"))
    }

    private func refuseGroupRoom(_ what: String, _ actions: inout [ClientAction], sendBye: Bool = true) {
        let line = "! \(what): the relay could read messages in that room (end-to-end sessions are for rooms of two); --trust-relay is needed to join it"
        if sendBye {
            refuse(line, &actions)
        } else {
            actions.append(.status(line))
            finish(ClientExit.security, &actions)
        }
    }

    /// A security refusal: say so, BYE, exit status 3.
    private func refuse(_ line: String, _ actions: inout [ClientAction]) {
        actions.append(.status(line))
        if state != .leaving { actions.append(.sendBye) }
        agreement?.wipe()
        pending.removeAll()
        finish(ClientExit.security, &actions)
    }

    func fail(_ line: String, _ actions: inout [ClientAction]) {
        actions.append(.status(line))
        finish(ClientExit.failure, &actions)
    }

    private func finish(_ code: Int32, _ actions: inout [ClientAction]) {
        state = .done(code)
        actions.append(.exit(code))
    }
}
