import RelayCrypto
import RelayProtocol
import Testing
@testable import RelayClient

/// The key agreement of PROTOCOL.md sections 7.1 and 7.2, driven with no sockets: both
/// roles, the SAS, and every way an agreement aborts or the session is refused.
@Suite struct ClientSessionAgreementTests {
    @Test func asInitiatorTheClientWaitsForTheCommitmentThenSendsItsKeyAndShowsThePeersSAS() throws {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        #expect(client.handle(.peerJoined(Array("bob".utf8))).sent.isEmpty, "I sends nothing first")
        let peer = SimulatedPeer(role: .responder)
        let reply = client.receive(peer.commitmentMessage).sent
        #expect(reply.count == 1)
        #expect(reply.first?.count == E2EAgreementMessage.encodedCount)
        #expect(reply.first?.prefix(2) == [0x03, 0x02])
        try peer.complete(clientMessage: try #require(reply.first))
        let completed = client.receive(peer.publicKeyMessage)
        #expect(completed.statusLines.contains("* SAS with bob (agreement 1): \(peer.sas)"))
        // The first record is alice's identity, signed as the initiator over T.
        let identity = try peer.receive(try #require(completed.sent.first))
        #expect(identity.sequenceNumber == 0 && identity.kind == .identity)
        #expect(throws: Never.self) {
            try E2EIdentity.verify(identity.content, signerRole: .initiator, transcript: peer.schedule?.transcript ?? [])
        }
    }

    @Test func asResponderTheClientCommitsFirstAndRevealsAKeyThatMatchesItsCommitment() throws {
        let client = EndToEndClient()
        let welcome = client.joinRoom(with: "bob").sent
        #expect(welcome.count == 1)
        let commitment = try #require(welcome.first)
        #expect(commitment.count == 34 && commitment.prefix(2) == [0x03, 0x01])
        let peer = SimulatedPeer(role: .initiator)
        let completed = client.receive(peer.publicKeyMessage)
        let sent = completed.sent
        #expect(sent.count == 2, "pkR, then the identity record")
        let revealed = try #require(sent.first)
        #expect(revealed.prefix(2) == [0x03, 0x03])
        #expect(throws: Never.self) {
            try E2EAgreement.verifyCommitment(Array(commitment.dropFirst(2)), responderPublicKey: Array(revealed.dropFirst(2)))
        }
        try peer.complete(clientMessage: revealed)
        #expect(completed.statusLines.contains("* SAS with bob (agreement 1): \(peer.sas)"))
        let identity = try peer.receive(sent[1])
        #expect(identity.kind == .identity)
        #expect(throws: Never.self) {
            try E2EIdentity.verify(identity.content, signerRole: .responder, transcript: peer.schedule?.transcript ?? [])
        }
    }

    @Test func aRelayThatLiesAboutTheNamesGetsADifferentSAS() throws {
        // The relay told bob that his peer is "mallory"; alice knows herself as "alice".
        let client = EndToEndClient()
        let peer = SimulatedPeer(role: .responder)
        client.joinEmptyRoom()
        client.handle(.peerJoined(peer.name))
        let publicKey = try #require(client.receive(peer.commitmentMessage).sent.first)
        try peer.complete(clientName: "mallory", clientMessage: publicKey)
        let shown = client.receive(peer.publicKeyMessage).statusLines.first { $0.hasPrefix("* SAS with bob") }
        #expect(shown != nil)
        #expect(shown != "* SAS with bob (agreement 1): \(peer.sas)")
    }

    @Test func messagesBeforeTheFirstExpectedOneAreDiscardedSilently() throws {
        let client = EndToEndClient()
        let peer = SimulatedPeer(role: .responder)
        client.joinEmptyRoom()
        client.handle(.peerJoined(peer.name))
        // pkR, a short message and a record before the commitment: nothing said, nothing sent.
        #expect(client.receive(peer.publicKeyMessage).isEmpty)
        #expect(client.receive([0x03, 0x01]).isEmpty)
        #expect(client.receive([0x02] + [UInt8](repeating: 0, count: 72)).isEmpty)
        // The agreement then runs as usual.
        let publicKey = try #require(client.receive(peer.commitmentMessage).sent.first)
        try peer.complete(clientMessage: publicKey)
        #expect(client.receive(peer.publicKeyMessage).says("* SAS with bob (agreement 1): \(peer.sas)"))
    }

    @Test func aMessageOfTheWrongLengthAbortsTheAgreement() throws {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        client.handle(.peerJoined(Array("bob".utf8)))
        let peer = SimulatedPeer(role: .responder)
        client.receive(peer.commitmentMessage)
        let aborted = client.receive(Array(peer.publicKeyMessage.dropLast()))
        #expect(aborted.says("(agreement 1) was aborted"))
        #expect(!aborted.says("SAS"))
        #expect(client.exitStatus == nil, "one aborted agreement does not refuse the session")
        // Nothing of the aborted agreement is used any more: the right pkR is ignored.
        #expect(!client.receive(peer.publicKeyMessage).says("SAS"))
    }

    @Test func aMessageOutOfOrderAbortsTheAgreement() {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        client.handle(.peerJoined(Array("bob".utf8)))
        let peer = SimulatedPeer(role: .responder)
        client.receive(peer.commitmentMessage)
        #expect(client.receive(peer.commitmentMessage).says("out of order"))
    }

    @Test func aKeyThatDoesNotMatchTheCommitmentAbortsTheAgreement() {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        client.handle(.peerJoined(Array("bob".utf8)))
        let committed = SimulatedPeer(role: .responder)
        let other = SimulatedPeer(role: .responder)
        client.receive(committed.commitmentMessage)
        let aborted = client.receive(other.publicKeyMessage)
        #expect(aborted.says("does not match its commitment"))
        #expect(aborted.sent.isEmpty, "no identity record for an aborted agreement")
    }

    @Test func anAllZeroSharedSecretAbortsTheAgreementInEitherRole() {
        let zero = [UInt8](repeating: 0, count: 32)
        let responder = EndToEndClient()
        responder.joinRoom(with: "bob")
        let refused = responder.receive(SimulatedPeer.message(.initiatorPublicKey, zero))
        #expect(refused.says("all-zero shared secret"))
        #expect(refused.sent.isEmpty, "pkR is not revealed")

        let initiator = EndToEndClient()
        initiator.joinEmptyRoom()
        initiator.handle(.peerJoined(Array("bob".utf8)))
        let commitment = (try? E2EAgreement.commitment(toResponderPublicKey: zero)) ?? []
        initiator.receive(SimulatedPeer.message(.commitment, commitment))
        #expect(initiator.receive(SimulatedPeer.message(.responderPublicKey, zero)).says("all-zero shared secret"))
    }

    @Test func aLateAgreementMessageAfterCompletionIsReportedAndChangesNothing() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        let late = client.receive(peer.commitmentMessage)
        #expect(late.says("after agreement 1 completed"))
        #expect(client.exitStatus == nil)
        client.receive(peer.seal(.chat, Array("still here".utf8)))
        #expect(client.actions.displayed.last == "bob: still here")
    }

    @Test func aPeerLeavingWipesTheAgreementAndTheNextOneIsNumberedTwoWithTheStayerAsInitiator() throws {
        let client = EndToEndClient()
        _ = try Agreed.asResponder(client)
        client.type("for the first bob")
        let left = client.handle(.peerLeft(Array("bob".utf8)))
        #expect(left.says("1 line typed for bob and not sent: discarded"))
        #expect(client.session.agreement == nil)
        // bob comes back: alice stayed, so she is the initiator now and sends nothing first.
        #expect(client.handle(.peerJoined(Array("bob".utf8))).sent.isEmpty)
        let peer = SimulatedPeer(role: .responder)
        let publicKey = try #require(client.receive(peer.commitmentMessage).sent.first)
        try peer.complete(clientMessage: publicKey)
        let completed = client.receive(peer.publicKeyMessage)
        #expect(completed.says("* SAS with bob (agreement 2): \(peer.sas)"))
        // The discarded line never reaches the new bob.
        _ = try peer.receive(try #require(completed.sent.first))
        let afterIdentity = client.receive(peer.identityRecord())
        #expect(afterIdentity.sent.isEmpty)
    }

    @Test func aFourthAgreementOnOneConnectionIsRefused() throws {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        for _ in 1...3 {
            client.handle(.peerJoined(Array("bob".utf8)))
            client.handle(.peerLeft(Array("bob".utf8)))
        }
        let fourth = client.handle(.peerJoined(Array("bob".utf8)))
        #expect(fourth.says("keeps restarting the key agreement"))
        #expect(fourth.contains(.sendBye))
        #expect(fourth.last == .exit(ClientExit.security))
    }

    @Test func aThirdAbortedAgreementRefusesTheSession() {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        for number in 1...3 {
            client.handle(.peerJoined(Array("bob".utf8)))
            let peer = SimulatedPeer(role: .responder)
            client.receive(peer.commitmentMessage)
            let aborted = client.receive(peer.commitmentMessage)
            #expect(aborted.says("(agreement \(number)) was aborted"))
            if number < 3 {
                #expect(client.exitStatus == nil)
                client.handle(.peerLeft(Array("bob".utf8)))
            }
        }
        #expect(client.actions.says("3 aborted"))
        #expect(client.exitStatus == ClientExit.security)
    }

    @Test func aSecondWelcomeOrAPeerJoiningWhileOneIsPresentIsAProtocolError() {
        let twice = EndToEndClient()
        twice.joinRoom(with: "bob")
        twice.joinRoom(with: "bob")
        #expect(twice.exitStatus == ClientExit.failure)

        let crowded = EndToEndClient()
        crowded.joinRoom(with: "bob")
        let joined = crowded.handle(.peerJoined(Array("carol".utf8)))
        #expect(joined.says("while bob is still here"))
        #expect(crowded.exitStatus == ClientExit.failure)
    }

    @Test func anAgreementThatDoesNotCompleteIn10SecondsIsReportedOnceAndTheClientKeepsWaiting() throws {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        client.handle(.peerJoined(Array("bob".utf8)))
        #expect(client.tick(at: 9.5).isEmpty)
        #expect(client.tick(at: 10.5).says("no key agreement with bob after 10 seconds"))
        #expect(client.tick(at: 20).isEmpty, "said once")
        #expect(client.exitStatus == nil)
        let peer = SimulatedPeer(role: .responder)
        let publicKey = try #require(client.receive(peer.commitmentMessage).sent.first)
        try peer.complete(clientMessage: publicKey)
        #expect(client.receive(peer.publicKeyMessage).says("* SAS with bob (agreement 1)"))
    }

    @Test func aRoomLargerThanTwoOrDataFromIsRefusedWithoutSendingAnything() {
        let group = EndToEndClient()
        let welcome = group.handle(.welcome(ClientWelcome(
            sessionKey: SimulatedPeer.sessionKey, maxFrame: 65536, roomSize: 3, peers: [Array("bob".utf8)])))
        #expect(welcome.sent.isEmpty)
        #expect(welcome.says("--trust-relay"))
        #expect(group.exitStatus == ClientExit.security)

        let fannedOut = EndToEndClient()
        fannedOut.joinRoom(with: "bob")
        let refused = fannedOut.handle(.dataFrom(name: Array("bob".utf8), sealed: [0x02, 0, 0]))
        #expect(refused.says("--trust-relay"))
        #expect(fannedOut.exitStatus == ClientExit.security)
    }

    @Test func aRelayKeyMessageInAnEndToEndSessionIsRefused() throws {
        let client = EndToEndClient()
        _ = try Agreed.ready(client)
        let forged = try AuthenticatedCipher(sessionKey: SimulatedPeer.sessionKey).seal(Array("meet at midnight".utf8))
        let refused = client.receive(forged)
        #expect(refused.says("sealed under the relay's key"))
        #expect(refused.displayed.isEmpty)
        #expect(client.exitStatus == nil)
    }
}
