#if canImport(Glibc)
import Glibc
#endif
@testable import RelayCrypto
import RelayProtocol
@testable import RelayClient

/// The other end of an end-to-end session (PROTOCOL.md section 7), built from RelayCrypto
/// alone and not from ``ClientSession``, so that a test can make it follow the contract or
/// break it at will: send messages out of order, commit to one key and reveal another,
/// sign the wrong transcript, seal records with any sequence number or kind.
final class SimulatedPeer {
    /// The relay session key K both sides got in their WELCOME.
    static let sessionKey = [UInt8](repeating: 7, count: 32)

    let name: [UInt8]
    let role: E2ERole
    let ephemeral = X25519PrivateKey()
    let identity: Ed25519PrivateKey
    private(set) var schedule: E2EKeySchedule?
    private(set) var sealer: E2ERecordSealer?
    private(set) var receiver: E2ERecordReceiver?

    init(name: String = "bob", role: E2ERole, identity: Ed25519PrivateKey = Ed25519PrivateKey()) {
        self.name = Array(name.utf8)
        self.role = role
        self.identity = identity
    }

    /// R's first message: `0x03 | 0x01 | SHA-256("relay e2e v1 commit" | pkR)`.
    var commitmentMessage: [UInt8] {
        Self.message(.commitment, (try? E2EAgreement.commitment(toResponderPublicKey: ephemeral.publicKey)) ?? [])
    }

    /// The peer's public key message: step 2 for an initiator, step 3 for a responder.
    var publicKeyMessage: [UInt8] {
        Self.message(role == .initiator ? .initiatorPublicKey : .responderPublicKey, ephemeral.publicKey)
    }

    static func message(_ step: E2EAgreementMessage.Step, _ value: [UInt8]) -> [UInt8] {
        [E2EAgreementMessage.typeByte, step.rawValue] + value
    }

    /// Derives this side's keys from the client's public key (the value of its message).
    func complete(clientName: String = "alice", clientMessage: [UInt8]) throws {
        let schedule = try E2EKeySchedule(
            sessionKey: Self.sessionKey, role: role, ownName: name, peerName: Array(clientName.utf8),
            ownKey: ephemeral, peerPublicKey: Array(clientMessage.dropFirst(2)))
        self.schedule = schedule
        sealer = schedule.makeSealer(for: role.sendingDirection)
        receiver = E2ERecordReceiver(opener: schedule.makeOpener(for: role.receivingDirection))
    }

    /// The SAS as both sides should show it, once complete.
    var sas: String { schedule?.sas ?? "" }

    /// The identity record's content, signed in `role` over `transcript` (default: the
    /// truth).
    func identityContent(signingAs role: E2ERole? = nil, transcript: [UInt8]? = nil) -> [UInt8] {
        E2EIdentity.content(identityKey: identity, role: role ?? self.role, transcript: transcript ?? schedule?.transcript ?? [])
    }

    /// The next record, sealed under this side's sending keys.
    func seal(_ kind: E2ERecordKind, _ content: [UInt8] = []) -> [UInt8] {
        (try? sealer?.seal(kind, content: content)) ?? []
    }

    /// The next record with any kind byte (for an unknown kind).
    func seal(kindByte: UInt8, _ content: [UInt8]) -> [UInt8] {
        (try? sealer?.seal(kindByte: kindByte, content: content, iv: [UInt8](repeating: 1, count: 16))) ?? []
    }

    /// The identity record (seq 0 when sent first).
    func identityRecord() -> [UInt8] { seal(.identity, identityContent()) }

    /// Opens the client's next record in order.
    func receive(_ record: [UInt8]) throws -> E2EOpenedRecord {
        guard let receiver else { throw E2EReceiveError.authenticationFailed }
        return try receiver.receive(record)
    }
}

/// A client session named alice in end-to-end mode, with what each input made it do.
final class EndToEndClient {
    let session: ClientSession
    /// Every action so far, in order.
    private(set) var actions: [ClientAction] = []

    init(requireVerified: Bool = false, knownPeers: KnownPeers? = nil, identity: Ed25519PrivateKey = Ed25519PrivateKey()) {
        var settings = ClientSession.Settings(name: try! PeerName(validating: Array("alice".utf8)), relayLabel: "h:1")
        settings.trustRelay = false
        settings.requireVerified = requireVerified
        settings.knownPeers = knownPeers
        settings.identity = identity
        let box = ClockBox()
        settings.clock = { box.now }
        session = ClientSession(settings: settings)
        clock = box
    }

    private let clock: ClockBox
    private final class ClockBox { var now = 0.0 }

    /// Moves the clock and feeds a tick.
    @discardableResult
    func tick(at seconds: Double) -> [ClientAction] {
        clock.now = seconds
        return handle(.tick(seconds))
    }

    @discardableResult
    func handle(_ input: ClientInput) -> [ClientAction] {
        let new = session.handle(input)
        actions += new
        return new
    }

    @discardableResult
    func receive(_ body: [UInt8]) -> [ClientAction] { handle(.data(body)) }

    @discardableResult
    func type(_ line: String) -> [ClientAction] { handle(.line(Array(line.utf8))) }

    /// Alice joins an empty room (she will be the initiator).
    @discardableResult
    func joinEmptyRoom() -> [ClientAction] {
        handle(.welcome(ClientWelcome(sessionKey: SimulatedPeer.sessionKey, maxFrame: 65536, roomSize: 2, peers: [])))
    }

    /// Alice joins a room where `peer` is (she is the responder).
    @discardableResult
    func joinRoom(with peer: String = "bob") -> [ClientAction] {
        handle(.welcome(ClientWelcome(sessionKey: SimulatedPeer.sessionKey, maxFrame: 65536, roomSize: 2, peers: [Array(peer.utf8)])))
    }

    /// The session's exit status, if it ended.
    var exitStatus: Int32? { session.exitStatus }
}

extension Array where Element == ClientAction {
    /// The DATA bodies sent.
    var sent: [[UInt8]] { compactMap { if case .sendData(let body) = $0 { body } else { nil } } }
    /// The status lines shown.
    var statusLines: [String] { compactMap { if case .status(let line) = $0 { line } else { nil } } }
    /// The messages displayed.
    var displayed: [String] { compactMap { if case .display(let line) = $0 { line } else { nil } } }
    /// True when some status line contains `text`.
    func says(_ text: String) -> Bool { statusLines.contains { $0.contains(text) } }
}

/// Full agreements, ready for records, in either role of the client.
enum Agreed {
    /// Alice (initiator, in the room first) and bob (responder) agree; bob's identity
    /// record has not been delivered yet. Returns alice's identity record too.
    static func asInitiator(_ client: EndToEndClient, peer: SimulatedPeer = SimulatedPeer(role: .responder),
                            alreadyJoined: Bool = false) throws -> (peer: SimulatedPeer, clientIdentityRecord: [UInt8]) {
        if !alreadyJoined { client.joinEmptyRoom() }
        client.handle(.peerJoined(peer.name))
        guard let publicKey = client.receive(peer.commitmentMessage).sent.first else { throw SimulationError.noMessage }
        try peer.complete(clientMessage: publicKey)
        guard let identityRecord = client.receive(peer.publicKeyMessage).sent.first else { throw SimulationError.noMessage }
        return (peer, identityRecord)
    }

    /// Alice joins bob (alice responder, bob initiator).
    static func asResponder(_ client: EndToEndClient, peer: SimulatedPeer = SimulatedPeer(role: .initiator)) throws
        -> (peer: SimulatedPeer, clientIdentityRecord: [UInt8]) {
        client.joinRoom(with: String(decoding: peer.name, as: UTF8.self))
        let sent = client.receive(peer.publicKeyMessage).sent
        guard sent.count == 2 else { throw SimulationError.noMessage }
        try peer.complete(clientMessage: sent[0])
        return (peer, sent[1])
    }

    /// Alice as initiator, with bob's identity record delivered: chat may flow.
    static func ready(_ client: EndToEndClient, peer: SimulatedPeer = SimulatedPeer(role: .responder),
                      alreadyJoined: Bool = false) throws -> SimulatedPeer {
        let (peer, identityRecord) = try asInitiator(client, peer: peer, alreadyJoined: alreadyJoined)
        _ = try peer.receive(identityRecord)
        client.receive(peer.identityRecord())
        return peer
    }

    enum SimulationError: Error { case noMessage }
}

/// A temporary state directory with a known_peers path, removed by ``remove()``.
struct TemporaryKnownPeers {
    let directory: String
    let knownPeers: KnownPeers

    init() {
        var template = Array("/tmp/relay-known-peers-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = made.map { String(cString: $0) } ?? "/tmp"
        knownPeers = KnownPeers(besideKnownServers: directory + "/known_servers")
    }

    /// Records a new identity for bob at relay h:1, as `/verify` would have; returns it.
    func rememberBob() throws -> Ed25519PrivateKey {
        let identity = Ed25519PrivateKey()
        try knownPeers.record(relay: "h:1", name: Array("bob".utf8), key: identity.publicKey.rawRepresentation)
        return identity
    }

    /// The file's lines ("" when it does not exist), read as the client reads it.
    var contents: String {
        guard let bytes = try? knownPeers.file.contents() else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    func remove() {
        unlink(knownPeers.path)
        unlink(knownPeers.path + ".lock")
        unlink(knownPeers.path + ".tmp")
        rmdir(directory)
    }
}
