import RelayCrypto

/// One key agreement of PROTOCOL.md section 7.2 and, once it completes, its records
/// (7.3): a pure state machine fed the DATA bodies of one peer. It never sends by itself:
/// each call returns the DATA bodies to send.
final class EndToEndAgreement {
    /// Where the agreement is.
    enum Step: Equatable {
        /// I: waiting for R's commitment (nothing of this agreement has arrived yet).
        case awaitingCommitment
        /// I: commitment received and pkI sent; waiting for pkR.
        case awaitingResponderKey
        /// R: commitment sent; waiting for pkI (nothing has arrived yet).
        case awaitingInitiatorKey
        /// Keys agreed; records flow.
        case complete
        /// Aborted (7.2): everything of this agreement is discarded from now on.
        case aborted
    }

    /// What an agreement message did.
    enum AgreementOutcome: Equatable {
        /// Nothing to do (discarded silently, before the first expected message).
        case ignored
        /// Send these bodies.
        case send([[UInt8]])
        /// The agreement completed; send these bodies (pkR, for R).
        case completed(send: [[UInt8]])
        /// The agreement is aborted for this reason.
        case aborted(String)
        /// A key-agreement message after completion: reported, ignored.
        case late
    }

    /// The agreement's number on this connection (1, 2 or 3).
    let number: Int
    let role: E2ERole
    let ownName: [UInt8]
    /// The peer's name as the relay gave it.
    let peerName: [UInt8]
    private let sessionKey: [UInt8]
    private let ownKey = X25519PrivateKey()
    private var commitment: [UInt8]?
    private(set) var step: Step
    private(set) var schedule: E2EKeySchedule?
    private(set) var sealer: E2ERecordSealer?
    private(set) var receiver: E2ERecordReceiver?
    /// When the agreement started (the session's clock), for the 10 s notice.
    let startedAt: Double
    var slowNoticeShown = false
    /// The peer's identity key once its identity record checked out.
    var peerIdentity: Ed25519PublicKey?
    /// The peer sent its end record.
    var peerEnded = false

    init(number: Int, role: E2ERole, ownName: [UInt8], peerName: [UInt8], sessionKey: [UInt8], startedAt: Double) {
        self.number = number
        self.role = role
        self.ownName = ownName
        self.peerName = peerName
        self.sessionKey = sessionKey
        self.startedAt = startedAt
        step = role == .initiator ? .awaitingCommitment : .awaitingInitiatorKey
    }

    deinit { wipe() }

    /// R's first message (I sends nothing first).
    func start() -> [[UInt8]] {
        guard role == .responder, let commitment = try? E2EAgreement.commitment(toResponderPublicKey: ownKey.publicKey),
              let message = try? E2EAgreementMessage(step: .commitment, value: commitment)
        else { return [] }
        return [message.encoded]
    }

    /// A DATA body starting with 0x03.
    func receiveAgreementMessage(_ body: [UInt8]) -> AgreementOutcome {
        switch step {
        case .aborted:
            return .ignored
        case .complete:
            return .late
        case .awaitingCommitment, .awaitingInitiatorKey:
            // Before the first message expected: what cannot be used is discarded silently
            // (the relay may still deliver what was sent to a peer that left).
            let expected: E2EAgreementMessage.Step = step == .awaitingCommitment ? .commitment : .initiatorPublicKey
            guard let message = try? E2EAgreementMessage(parsing: body), message.step == expected else { return .ignored }
            if step == .awaitingCommitment {
                commitment = message.value
                step = .awaitingResponderKey
                guard let reply = try? E2EAgreementMessage(step: .initiatorPublicKey, value: ownKey.publicKey) else {
                    return abort("cannot build the public key message")
                }
                return .send([reply.encoded])
            }
            guard complete(peerPublicKey: message.value) else { return abort("the peer's public key gives an all-zero shared secret") }
            guard let reply = try? E2EAgreementMessage(step: .responderPublicKey, value: ownKey.publicKey) else {
                return abort("cannot build the public key message")
            }
            return .completed(send: [reply.encoded])
        case .awaitingResponderKey:
            guard let message = try? E2EAgreementMessage(parsing: body) else {
                return abort("a malformed key-agreement message")
            }
            guard message.step == .responderPublicKey else { return abort("a key-agreement message out of order") }
            guard let commitment, (try? E2EAgreement.verifyCommitment(commitment, responderPublicKey: message.value)) != nil else {
                return abort("the peer's public key does not match its commitment")
            }
            guard complete(peerPublicKey: message.value) else { return abort("the peer's public key gives an all-zero shared secret") }
            return .completed(send: [])
        }
    }

    private func abort(_ reason: String) -> AgreementOutcome {
        step = .aborted
        wipe()
        return .aborted(reason)
    }

    private func complete(peerPublicKey: [UInt8]) -> Bool {
        guard let schedule = try? E2EKeySchedule(
            sessionKey: sessionKey, role: role, ownName: ownName, peerName: peerName,
            ownKey: ownKey, peerPublicKey: peerPublicKey)
        else { return false }
        self.schedule = schedule
        sealer = schedule.makeSealer(for: role.sendingDirection)
        receiver = E2ERecordReceiver(opener: schedule.makeOpener(for: role.receivingDirection))
        step = .complete
        return true
    }

    /// The SAS, once complete.
    var sas: String? { schedule?.sas }
    /// T, once complete.
    var transcript: [UInt8]? { schedule?.transcript }

    /// Seals the next record.
    func seal(_ kind: E2ERecordKind, _ content: [UInt8]) -> [UInt8]? {
        try? sealer?.seal(kind, content: content)
    }

    /// Overwrites the agreement's keys (the sealer and receiver are dropped).
    func wipe() {
        schedule?.wipe()
        sealer = nil
        receiver = nil
    }
}
