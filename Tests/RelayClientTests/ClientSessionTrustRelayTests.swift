import RelayCrypto
import RelayProtocol
import Testing
@testable import RelayClient

/// The session's section 3/5 behaviour (`--trust-relay`, legacy), driven with no sockets.
@Suite struct ClientSessionTrustRelayTests {
    static let key = [UInt8](repeating: 7, count: 32)

    func session(legacy: Bool = false) -> ClientSession {
        var settings = ClientSession.Settings(name: try! PeerName(validating: Array("alice".utf8)), relayLabel: "h:1")
        settings.legacy = legacy
        settings.trustRelay = true
        return ClientSession(settings: settings)
    }

    @Test func welcomeOpensInputAndLinesAreSealedUnderK() throws {
        let session = session()
        let actions = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [Array("bob".utf8)])))
        #expect(actions.contains(.status("* bob is here")))
        #expect(actions.contains(.startInput(maximumLineCount: ClientSession.maximumPlaintextCount(maxFrame: 4096))))
        guard case .sendData(let body)? = session.handle(.line(Array("hi".utf8))).first else {
            Issue.record("no DATA")
            return
        }
        #expect(try AuthenticatedCipher(sessionKey: Self.key).open(body) == Array("hi".utf8))
    }

    @Test func peerMessagesAreDisplayedAndForgeriesReported() throws {
        let session = session()
        _ = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [Array("bob".utf8)])))
        let sealed = try AuthenticatedCipher(sessionKey: Self.key).seal(Array("yo".utf8))
        #expect(session.handle(.data(sealed)) == [.display("bob: yo")])
        var forged = sealed
        forged[forged.count - 1] ^= 1
        #expect(session.handle(.data(forged)).count == 1)
        #expect(session.exitStatus == nil)
    }

    @Test func endOfInputWaitsForAPeerThenSaysBye() {
        let session = session()
        _ = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [])))
        #expect(!session.handle(.endOfInput).contains(.sendBye))
        #expect(session.handle(.peerJoined(Array("bob".utf8))).contains(.sendBye))
        #expect(session.handle(.relayClosed) == [.exit(0)])
    }

    @Test func relayErrorAndEarlyCloseFail() {
        let first = session()
        #expect(first.handle(.relayClosed).last == .exit(1))
        let second = session()
        _ = second.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [])))
        #expect(second.handle(.relayError(code: 5, message: "full")).last == .exit(1))
    }

    @Test func ticksBeforeWelcomeChangeNothing() {
        let session = session()
        #expect(session.handle(.tick(1)).isEmpty)
        #expect(session.exitStatus == nil)
    }

    @Test func legacyUsesTheRawKeyAndLeavesAtEndOfInput() throws {
        let session = session(legacy: true)
        _ = session.handle(.welcome(ClientWelcome(sessionKey: Self.key, maxFrame: 4096, peers: [])))
        guard case .sendData(let payload)? = session.handle(.line(Array("x".utf8))).first else {
            Issue.record("no payload")
            return
        }
        #expect(try AESCBCCipher(key: Self.key).decrypt(payload) == Array("x".utf8))
        #expect(session.handle(.endOfInput) == [.sendBye])
    }
}
