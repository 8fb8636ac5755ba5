import RelayCrypto
import RelayProtocol
import Testing
@testable import RelayClient

/// Two sessions wired back to back with no sockets: what one sends (DATA bodies) is held
/// for the other until ``deliver(to:where:)``; every action is kept for inspection.
final class SessionPair {
    static let key = [UInt8](repeating: 7, count: 32)
    let alice: ClientSession
    let bob: ClientSession
    /// DATA bodies in flight, per receiver.
    var toAlice: [[UInt8]] = []
    var toBob: [[UInt8]] = []
    var aliceActions: [ClientAction] = []
    var bobActions: [ClientAction] = []

    init(alicePipe: Bool = true, bobPipe: Bool = true, aliceService: Bool = false, maxFrame: UInt32 = 4096) {
        alice = Self.session("alice", pipe: alicePipe, service: aliceService)
        bob = Self.session("bob", pipe: bobPipe)
        feed(alice, .welcome(ClientWelcome(sessionKey: Self.key, maxFrame: maxFrame, peers: [])))
    }

    static func session(_ name: String, pipe: Bool, service: Bool = false) -> ClientSession {
        var settings = ClientSession.Settings(name: try! PeerName(validating: Array(name.utf8)), relayLabel: "h:1")
        settings.trustRelay = false
        settings.pipe = pipe
        settings.service = service
        return ClientSession(settings: settings)
    }

    /// Bob joins: WELCOME naming alice for bob, PEER_JOINED for alice.
    func bobJoins(maxFrame: UInt32 = 4096) {
        feed(bob, .welcome(ClientWelcome(sessionKey: Self.key, maxFrame: maxFrame, peers: [Array("alice".utf8)])))
        feed(alice, .peerJoined(Array("bob".utf8)))
    }

    @discardableResult
    func feed(_ session: ClientSession, _ input: ClientInput) -> [ClientAction] {
        let actions = session.handle(input)
        for case .sendData(let body) in actions {
            if session === alice { toBob.append(body) } else { toAlice.append(body) }
        }
        if session === alice { aliceActions += actions } else { bobActions += actions }
        return actions
    }

    /// Delivers what is in flight (both ways, until nothing is left), or only the bodies
    /// `filter` accepts; the others stay in flight.
    func deliver(where filter: ([UInt8]) -> Bool = { _ in true }) {
        var moved = true
        while moved {
            moved = false
            for receiver in [alice, bob] {
                var queue = receiver === alice ? toAlice : toBob
                guard let index = queue.firstIndex(where: filter) else { continue }
                let body = queue.remove(at: index)
                if receiver === alice { toAlice = queue } else { toBob = queue }
                feed(receiver, .data(body))
                moved = true
            }
        }
    }

    /// The agreement messages only (0x03), not records.
    func agree() { deliver { $0.first == E2EAgreementMessage.typeByte } }

    static func streamed(_ actions: [ClientAction]) -> [UInt8] {
        actions.flatMap { action -> [UInt8] in
            if case .writeStream(let bytes) = action { bytes } else { [] }
        }
    }
}

@Suite struct PipeSessionEndToEndTests {
    @Test func streamBytesWaitForThePeersIdentityRecordThenTravelAsSealedRecords() throws {
        let pair = SessionPair()
        #expect(pair.feed(pair.alice, .chunk([1, 2, 3])).isEmpty)
        #expect(pair.alice.isHoldingInput)
        pair.bobJoins()
        pair.agree()
        // Agreed, and alice's identity record is on its way; bob's has not reached alice.
        #expect(pair.alice.agreement?.step == .complete)
        #expect(pair.toBob.count == 1, "only alice's identity record: no stream record yet")
        #expect(pair.alice.isHoldingInput)
        pair.deliver()
        #expect(!pair.alice.isHoldingInput)
        #expect(SessionPair.streamed(pair.bobActions) == [1, 2, 3])
        pair.feed(pair.alice, .chunk([4, 5]))
        guard let record = pair.toBob.first else {
            Issue.record("no stream record")
            return
        }
        #expect(record.first == E2ERecord.typeByte)
        #expect(record.count >= 73 && (record.count - 57) % 16 == 0)
        pair.deliver()
        #expect(SessionPair.streamed(pair.bobActions) == [1, 2, 3, 4, 5])
        // Every DATA body alice sent is an agreement message or a record: nothing under K.
        let sent = pair.aliceActions.compactMap { action -> UInt8? in
            if case .sendData(let body) = action { body.first } else { nil }
        }
        #expect(sent.allSatisfy { $0 == E2ERecord.typeByte || $0 == E2EAgreementMessage.typeByte })
        #expect(pair.alice.messagesSent == 2 && pair.bob.messagesReceived == 2)
    }

    @Test func endRecordsBothWaysThenByeOnceTheOutputIsClosed() {
        let pair = SessionPair()
        pair.bobJoins()
        pair.deliver()
        pair.feed(pair.alice, .chunk([9]))
        pair.feed(pair.alice, .endOfInput)
        #expect(!pair.aliceActions.contains(.sendBye), "bob's end has not arrived")
        pair.deliver()
        #expect(pair.bobActions.suffix(2) == [.writeStream([9]), .endStream])
        pair.feed(pair.bob, .endOfInput)
        pair.deliver()
        #expect(pair.aliceActions.last == .endStream)
        #expect(!pair.bobActions.contains(.sendBye), "bob's standard output is not closed yet")
        #expect(pair.feed(pair.bob, .outputClosed) == [.sendBye])
        #expect(pair.feed(pair.alice, .outputClosed) == [.sendBye])
        #expect(pair.feed(pair.alice, .relayClosed) == [.exit(ClientExit.success)])
    }

    @Test func endOfInputBeforeThePeerSendsTheEndRecordAfterItsIdentity() {
        let pair = SessionPair()
        pair.feed(pair.alice, .chunk([7]))
        pair.feed(pair.alice, .endOfInput)
        #expect(pair.toBob.isEmpty)
        pair.bobJoins()
        pair.deliver()
        #expect(pair.bobActions.suffix(2) == [.writeStream([7]), .endStream])
    }

    @Test func aRecordAfterThePeersEndIsRefused() throws {
        let pair = SessionPair()
        pair.bobJoins()
        pair.deliver()
        pair.feed(pair.bob, .endOfInput)
        pair.deliver()
        #expect(pair.aliceActions.last == .endStream)
        // Bob's session sends nothing after its end; seal one with its keys, as a buggy or
        // hostile peer could.
        let late = try #require(pair.bob.agreement?.seal(.stream, [6, 6]))
        let actions = pair.feed(pair.alice, .data(late))
        #expect(actions == [.status("! a record from bob after its end record: refused")])
        #expect(pair.alice.exitStatus == nil)
    }

    @Test func peerLeftWithoutItsEndRecordSaysTheLastBytesMayBeLostAndFails() {
        let pair = SessionPair()
        pair.bobJoins()
        pair.deliver()
        pair.feed(pair.bob, .chunk([1]))
        pair.deliver()
        let actions = pair.feed(pair.alice, .peerLeft(Array("bob".utf8)))
        #expect(actions.contains(.status("! bob left without its end record: the last bytes of bob's stream may have been lost")))
        #expect(actions.last == .exit(ClientExit.failure))
    }

    @Test func aChunkOfTheLargestContentFitsOneFrame() throws {
        let maxFrame: UInt32 = 4096
        let pair = SessionPair(maxFrame: maxFrame)
        pair.bobJoins(maxFrame: maxFrame)
        pair.deliver()
        let largest = LocalStreams.chunkSize(maximumContent: ClientSession.maximumRecordContentCount(maxFrame: maxFrame))
        #expect(largest < Int(maxFrame) && largest > Int(maxFrame) - 128)
        pair.feed(pair.alice, .chunk([UInt8](repeating: 0xAB, count: largest)))
        let record = try #require(pair.toBob.last)
        #expect(record.count + 1 <= Int(maxFrame), "type byte plus record within the frame limit")
        pair.deliver()
        #expect(SessionPair.streamed(pair.bobActions).count == largest)
    }

    @Test func lineServiceGetsChatMessagesAsLinesAndThePeersEndClosesItsInput() {
        let pair = SessionPair(alicePipe: false, bobPipe: false, aliceService: true)
        pair.bobJoins()
        pair.deliver()
        let help = pair.feed(pair.bob, .line(Array("/nonsense".utf8)))
        #expect(help.first == .status("! unknown command /nonsense"))
        #expect(help.contains(.status(ClientCommand.helpLines[0])))
        #expect(!help.contains { if case .sendData = $0 { true } else { false } })
        pair.feed(pair.bob, .line(Array("hello".utf8)))
        pair.deliver()
        #expect(SessionPair.streamed(pair.aliceActions) == Array("hello\n".utf8))
        // The service's own lines are messages, never commands.
        pair.feed(pair.alice, .line(Array("/quit".utf8)))
        pair.deliver()
        #expect(pair.bobActions.last == .display("alice: /quit"))
        pair.feed(pair.bob, .endOfInput)
        pair.deliver()
        #expect(pair.aliceActions.last == .endStream)
        // The service's output ended (it exited): end record, BYE.
        let actions = pair.feed(pair.alice, .endOfInput)
        #expect(actions.last == .sendBye)
    }
}

@Suite struct PipeSessionTrustRelayTests {
    static let key = [UInt8](repeating: 7, count: 32)

    func session(pipe: Bool = true, service: Bool = false) -> ClientSession {
        var settings = ClientSession.Settings(name: try! PeerName(validating: Array("alice".utf8)), relayLabel: "h:1")
        settings.pipe = pipe
        settings.service = service
        settings.trustRelay = true
        return ClientSession(settings: settings)
    }

    @Test func eachChunkIsOneMessageAndAnEmptyMessageIsTheEnd() throws {
        let session = session()
        let cipher = try AuthenticatedCipher(sessionKey: Self.key)
        _ = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [Array("bob".utf8)])))
        guard case .sendData(let body)? = session.handle(.chunk([0, 1, 2])).first else {
            Issue.record("no DATA")
            return
        }
        #expect(try cipher.open(body) == [0, 1, 2])
        #expect(session.handle(.data(cipher.seal([9, 9]))) == [.writeStream([9, 9])])
        #expect(session.handle(.data(cipher.seal([UInt8]()))) == [.endStream])
        #expect(session.handle(.data(cipher.seal([1]))) == [.status("! bytes from bob after the end of its stream: refused")])
        #expect(!session.handle(.outputClosed).contains(.sendBye))
        let end = session.handle(.endOfInput)
        guard case .sendData(let endBody)? = end.first else {
            Issue.record("no end")
            return
        }
        #expect(try cipher.open(endBody) == [])
        #expect(end.contains(.sendBye))
    }

    @Test func peerLeavingBeforeItsEndIsALoss() {
        let session = session()
        _ = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [Array("bob".utf8)])))
        #expect(session.handle(.peerLeft(Array("bob".utf8))).last == .exit(ClientExit.failure))
    }

    @Test func aLineServiceGetsEachMessageAsOneLine() throws {
        let session = session(pipe: false, service: true)
        let cipher = try AuthenticatedCipher(sessionKey: Self.key)
        _ = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [Array("bob".utf8)])))
        #expect(session.handle(.data(cipher.seal(Array("a\nb".utf8)))) == [.writeStream(Array("a b\n".utf8))])
        // The service's lines are messages, never commands.
        guard case .sendData(let body)? = session.handle(.line(Array("/quit".utf8))).first else {
            Issue.record("no DATA")
            return
        }
        #expect(try cipher.open(body) == Array("/quit".utf8))
    }
}
