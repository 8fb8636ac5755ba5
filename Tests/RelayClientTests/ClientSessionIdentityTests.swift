import RelayCrypto
import RelayProtocol
import Testing
@testable import RelayClient

/// Identities and verification (PROTOCOL.md section 7.4) in the client, driven with no
/// sockets, against a known_peers file in a temporary directory.
@Suite struct ClientSessionIdentityTests {
    /// The line section 7.4 fixes for bob at relay h:1.
    static func line(for key: Ed25519PublicKey) -> String {
        "h:1 626f62 ed25519:" + KnownPeers.hex(key.rawRepresentation) + "\n"
    }

    @Test func anUnknownPeerIsShownAsNotVerifiedWithItsFingerprint() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let client = EndToEndClient(knownPeers: store.knownPeers)
        let peer = try Agreed.ready(client)
        #expect(client.actions.says("* bob is not verified: compare the SAS, then type /verify"))
        #expect(client.actions.says(peer.identity.publicKey.fingerprint))
        #expect(store.contents.isEmpty, "never recorded on first sight")
    }

    @Test func verifyRecordsThePeerInTheContractsLineForm() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let client = EndToEndClient(knownPeers: store.knownPeers)
        let peer = try Agreed.ready(client)
        let verified = client.type("/verify")
        #expect(verified.says("* bob is verified (\(peer.identity.publicKey.fingerprint))"))
        #expect(verified.sent.isEmpty, "a command is not sent to the peer")
        #expect(store.contents == Self.line(for: peer.identity.publicKey))
    }

    @Test func verifyWithTheDigitsAcceptsBothSpellings() throws {
        for grouped in [true, false] {
            let store = TemporaryKnownPeers()
            defer { store.remove() }
            let client = EndToEndClient(knownPeers: store.knownPeers)
            let peer = try Agreed.ready(client)
            client.type("/verify " + (grouped ? peer.sas : peer.sas.filter { $0 != " " }))
            #expect(client.exitStatus == nil)
            #expect(store.contents == Self.line(for: peer.identity.publicKey))
        }
    }

    @Test func verifyWithOtherDigitsRefusesTheSessionAndRecordsNothing() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let client = EndToEndClient(knownPeers: store.knownPeers)
        let peer = try Agreed.ready(client)
        let digits = peer.sas.filter { $0 != " " }
        let wrong = String(digits.prefix(5)) + (digits.last == "0" ? "1" : "0")
        let refused = client.type("/verify \(wrong)")
        #expect(refused.says("not the SAS of agreement 1"))
        #expect(refused.contains(.sendBye))
        #expect(client.exitStatus == ClientExit.security)
        #expect(store.contents.isEmpty)
    }

    @Test func verifyBeforeAnySASIsRefusedWithAMessage() {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        #expect(client.type("/verify").says("no SAS has been shown yet"))
        #expect(client.exitStatus == nil)
    }

    @Test func verifyForAnAgreementThatIsNoLongerCurrentIsRefused() throws {
        let client = EndToEndClient()
        _ = try Agreed.ready(client)
        client.handle(.peerLeft(Array("bob".utf8)))
        client.handle(.peerJoined(Array("bob".utf8)))
        #expect(client.type("/verify").says("agreement 1 is no longer the current one"))
        #expect(client.exitStatus == nil)
    }

    @Test func verifyBeforeThePeersIdentityRecordRecordsItWhenItArrives() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let client = EndToEndClient(knownPeers: store.knownPeers)
        let (peer, _) = try Agreed.asInitiator(client)
        #expect(client.type("/verify").says("will be recorded when it does"))
        #expect(store.contents.isEmpty)
        client.receive(peer.identityRecord())
        #expect(store.contents == Self.line(for: peer.identity.publicKey))
    }

    @Test func aRememberedPeerIsVerifiedWithoutComparing() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let bobIdentity = try store.rememberBob()
        let client = EndToEndClient(knownPeers: store.knownPeers)
        _ = try Agreed.ready(client, peer: SimulatedPeer(role: .responder, identity: bobIdentity))
        #expect(client.actions.statusLines.contains("* bob is verified (\(bobIdentity.publicKey.fingerprint))"))
        #expect(!client.actions.says("not verified"))
    }

    @Test func aChangedIdentityIsRefusedNamingBothFingerprintsAndTheLineToRemove() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let recorded = try store.rememberBob()
        let client = EndToEndClient(knownPeers: store.knownPeers)
        let impostor = SimulatedPeer(role: .responder)
        _ = try Agreed.ready(client, peer: impostor)
        let lines = client.actions.statusLines
        #expect(lines.contains { $0.contains("WARNING") && $0.contains("identity has changed") })
        #expect(lines.contains { $0.contains(recorded.publicKey.fingerprint) && $0.contains("\(store.knownPeers.path), line 1") })
        #expect(lines.contains { $0.contains(impostor.identity.publicKey.fingerprint) })
        #expect(client.actions.contains(.sendBye))
        #expect(client.exitStatus == ClientExit.security)
        #expect(store.contents == Self.line(for: recorded.publicKey), "the record is left as it was")
    }

    @Test func requireVerifiedRefusesAPeerThatIsNotRemembered() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let client = EndToEndClient(requireVerified: true, knownPeers: store.knownPeers)
        client.joinEmptyRoom()
        client.type("not for strangers")
        _ = try Agreed.ready(client, alreadyJoined: true)
        #expect(client.actions.says("--require-verified"))
        #expect(client.exitStatus == ClientExit.security)
        // Nothing was sealed for the stranger: alice sent only her agreement message and
        // her identity record.
        #expect(client.actions.sent.count == 2)
    }

    @Test func requireVerifiedAcceptsARememberedPeer() throws {
        let store = TemporaryKnownPeers()
        defer { store.remove() }
        let bobIdentity = try store.rememberBob()
        let client = EndToEndClient(requireVerified: true, knownPeers: store.knownPeers)
        let peer = try Agreed.ready(client, peer: SimulatedPeer(role: .responder, identity: bobIdentity))
        #expect(client.exitStatus == nil)
        let sent = try peer.receive(try #require(client.type("hi").sent.first))
        #expect(sent.content == Array("hi".utf8))
    }
}
