import RelayProtocol
import Testing
@testable import RelayClient

@Suite struct CommandParserTests {
    @Test func linesAndCommands() {
        #expect(ClientCommand.parse(Array("hi".utf8)) == .message(Array("hi".utf8)))
        #expect(ClientCommand.parse(Array("//x".utf8)) == .message(Array("/x".utf8)))
        #expect(ClientCommand.parse(Array("/help".utf8)) == .command(.help))
        #expect(ClientCommand.parse(Array("/quit".utf8)) == .command(.quit))
        #expect(ClientCommand.parse(Array("/status".utf8)) == .command(.status))
        #expect(ClientCommand.parse(Array("/who".utf8)) == .command(.who))
        #expect(ClientCommand.parse(Array("/verify 048 213".utf8)) == .command(.verify(arguments: ["048", "213"])))
        #expect(ClientCommand.parse(Array("/what".utf8)) == .command(.unknown("/what")))
        #expect(ClientCommand.parse(Array("/".utf8)) == .command(.unknown("/")))
    }
}

@Suite struct SessionCommandTests {
    @Test func statusAndWhoInAnEndToEndSession() {
        let pair = SessionPair(alicePipe: false, bobPipe: false)
        pair.bobJoins()
        pair.deliver()
        pair.feed(pair.alice, .line(Array("hi".utf8)))
        pair.deliver()
        let status = pair.feed(pair.alice, .line(Array("/status".utf8)))
        #expect(status == [
            .status("* relay: h:1"), .status("* room: (default room)"), .status("* peer: bob"),
            .status("* encryption: e2e (agreement 1; the relay cannot read or forge)"),
            .status("* verified: no"), .status("* messages: 1 sent, 0 received"),
        ])
        #expect(pair.feed(pair.alice, .line(Array("/who".utf8))) == [.status("* in the room: alice (you), bob")])
        #expect(pair.feed(pair.alice, .line(Array("/help".utf8))) == ClientCommand.helpLines.map { .status($0) })
    }

    @Test func quitSendsTheEndRecordThenBye() {
        let pair = SessionPair(alicePipe: false, bobPipe: false)
        pair.bobJoins()
        pair.deliver()
        let actions = pair.feed(pair.alice, .line(Array("/quit".utf8)))
        #expect(actions.last == .sendBye)
        pair.deliver()
        #expect(pair.bob.agreement?.peerEnded == true)
        #expect(!pair.feed(pair.bob, .peerLeft(Array("alice".utf8))).contains { if case .status(let text) = $0 { text.contains("lost") } else { false } })
    }
}

@Suite struct ProgressFormatTests {
    @Test func bytesAndDurations() {
        #expect(ProgressMeter.bytes(1023) == "1023 B")
        #expect(ProgressMeter.bytes(1536) == "1.5 KiB")
        #expect(ProgressMeter.bytes(4 << 20) == "4.00 MiB")
        #expect(ProgressMeter.bytes(300 << 20) == "300.0 MiB")
        #expect(ProgressMeter.duration(7) == "0:07")
        #expect(ProgressMeter.duration(754) == "12:34")
        #expect(ProgressMeter.duration(3723) == "1:02:03")
        #expect(ProgressMeter.line(sent: 2 << 20, received: 0, elapsed: 2) == "* sent 2.00 MiB, received 0 B, 1.00 MiB/s, 0:02")
    }

    @Test func updatesInPlaceAndThrottles() {
        var written: [String] = []
        let meter = ProgressMeter(now: 0, interval: 1) { written.append($0) }
        meter.sent(10)
        meter.update(now: 0.5)
        meter.update(now: 0.6)
        #expect(written.count == 1 && written[0].hasPrefix("\r"))
        meter.finish(now: 1)
        #expect(written.last == "\n")
    }
}
