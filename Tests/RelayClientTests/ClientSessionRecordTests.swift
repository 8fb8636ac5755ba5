import RelayCrypto
import RelayProtocol
import Testing
@testable import RelayClient

/// Records of PROTOCOL.md section 7.3 in the client, driven with no sockets: the order
/// rules, and each way a relay can tamper with them.
@Suite struct ClientSessionRecordTests {
    @Test func linesTypedBeforeThePeersIdentityRecordWaitThenTravelAsChatRecords() throws {
        let client = EndToEndClient()
        client.joinEmptyRoom()
        #expect(client.type("early").sent.isEmpty)
        let (peer, identityRecord) = try Agreed.asInitiator(client, alreadyJoined: true)
        #expect(client.type("still early").sent.isEmpty, "the peer's identity record has not arrived")
        _ = try peer.receive(identityRecord)
        let released = client.receive(peer.identityRecord()).sent
        #expect(released.count == 2)
        let opened = try released.map { try peer.receive($0) }
        #expect(opened.map(\.kind) == [.chat, .chat])
        #expect(opened.map(\.sequenceNumber) == [1, 2])
        #expect(opened.map(\.content) == [Array("early".utf8), Array("still early".utf8)])
        // From now on each line goes at once.
        let now = try peer.receive(try #require(client.type("now").sent.first))
        #expect(now.content == Array("now".utf8) && now.sequenceNumber == 3)
    }

    @Test func aDoubleSlashSendsALineThatStartsWithASlash() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        let sent = try peer.receive(try #require(client.type("//etc/passwd is a path").sent.first))
        #expect(sent.content == Array("/etc/passwd is a path".utf8))
    }

    @Test func chatRecordsAreDisplayedWithControlCharactersNeutralised() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        #expect(client.receive(peer.seal(.chat, Array("yo".utf8))).displayed == ["bob: yo"])
        let shown = client.receive(peer.seal(.chat, Array("a\u{1B}[2Jb".utf8))).displayed
        #expect(shown.count == 1 && !(shown.first ?? "").contains("\u{1B}"))
    }

    @Test func aRecordWhoseTagFailsIsReportedAndAdvancesNothing() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        let record = peer.seal(.chat, Array("meet at noon".utf8))
        var changed = record
        changed[30] ^= 0x01
        let refused = client.receive(changed)
        #expect(refused.says("could not be authenticated"))
        #expect(refused.displayed.isEmpty)
        #expect(client.exitStatus == nil)
        // The genuine record with the same seq is still the next one expected.
        #expect(client.receive(record).displayed == ["bob: meet at noon"])
    }

    @Test func aReflectedRecordFailsItsTag() throws {
        let client = EndToEndClient()
        _ = try Agreed.ready(client)
        let own = try #require(client.type("hello").sent.first)
        let reflected = client.receive(own)
        #expect(reflected.says("could not be authenticated"))
        #expect(reflected.displayed.isEmpty)
        #expect(client.exitStatus == nil)
    }

    @Test func aReplayedRecordEndsTheSession() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        let record = peer.seal(.chat, Array("pay 10".utf8))
        client.receive(record)
        let replayed = client.receive(record)
        #expect(replayed.says("replayed, reordered or dropped"))
        #expect(replayed.contains(.sendBye))
        #expect(replayed.displayed.isEmpty)
        #expect(client.exitStatus == ClientExit.security)
    }

    @Test func aReorderedOrDroppedRecordEndsTheSession() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        _ = peer.seal(.chat, Array("first".utf8))  // dropped by the relay
        let second = client.receive(peer.seal(.chat, Array("second".utf8)))
        #expect(second.says("record 2, expected 1"))
        #expect(second.displayed.isEmpty)
        #expect(client.exitStatus == ClientExit.security)
    }

    @Test func aFirstRecordThatIsNotAnIdentityRecordEndsTheSession() throws {
        let client = EndToEndClient()
        let (peer, _) = try Agreed.asInitiator(client)
        let refused = client.receive(peer.seal(.chat, Array("trust me".utf8)))
        #expect(refused.says("first record is not its identity record"))
        #expect(refused.displayed.isEmpty)
        #expect(client.exitStatus == ClientExit.security)
    }

    @Test func aSecondIdentityRecordEndsTheSession() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        #expect(client.receive(peer.identityRecord()).says("second identity record"))
        #expect(client.exitStatus == ClientExit.security)
    }

    @Test func anIdentitySignedForTheWrongRoleOrTranscriptEndsTheSession() throws {
        let wrongRole = EndToEndClient()
        let (peer, _) = try Agreed.asInitiator(wrongRole)
        wrongRole.receive(peer.seal(.identity, peer.identityContent(signingAs: .initiator)))
        #expect(wrongRole.actions.says("identity record does not verify"))
        #expect(wrongRole.exitStatus == ClientExit.security)

        let wrongTranscript = EndToEndClient()
        let (other, _) = try Agreed.asInitiator(wrongTranscript)
        wrongTranscript.receive(other.seal(.identity, other.identityContent(transcript: [UInt8](repeating: 9, count: 32))))
        #expect(wrongTranscript.actions.says("identity record does not verify"))
        #expect(wrongTranscript.exitStatus == ClientExit.security)
    }

    @Test func aRecordOfAnUnknownKindIsRefusedAndTheSessionGoesOn() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        let refused = client.receive(peer.seal(kindByte: 0x42, Array("future".utf8)))
        #expect(refused.says("unknown kind 66"))
        #expect(client.exitStatus == nil)
        // It was numbered by the peer, so the next record is accepted.
        #expect(client.receive(peer.seal(.chat, Array("ok".utf8))).displayed == ["bob: ok"])
    }

    @Test func aRecordAfterThePeersEndIsRefused() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        client.receive(peer.seal(.end))
        let after = client.receive(peer.seal(.chat, Array("one more".utf8)))
        #expect(after.says("after its end record"))
        #expect(after.displayed.isEmpty)
    }

    @Test func atEndOfInputTheClientSendsOneEndRecordThenBye() throws {
        let client = EndToEndClient()
        let peer = try Agreed.ready(client)
        let finished = client.handle(.endOfInput)
        let end = try peer.receive(try #require(finished.sent.first))
        #expect(end.kind == .end && end.content.isEmpty)
        #expect(finished.sent.count == 1)
        #expect(finished.last == .sendBye)
    }

    @Test func aPeerThatLeavesWithoutItsEndRecordIsReportedAsAPossibleLoss() throws {
        let withoutEnd = EndToEndClient()
        _ = try Agreed.ready(withoutEnd)
        #expect(withoutEnd.handle(.peerLeft(Array("bob".utf8))).says("may have been lost"))

        let withEnd = EndToEndClient()
        let peer = try Agreed.ready(withEnd)
        withEnd.receive(peer.seal(.end))
        #expect(!withEnd.handle(.peerLeft(Array("bob".utf8))).says("may have been lost"))
    }
}
