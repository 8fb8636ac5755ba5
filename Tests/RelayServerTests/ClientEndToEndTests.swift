import Foundation
import Testing
import RelayCrypto
import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `relay-client` processes against `relay-server`, end to end (PROTOCOL.md section 5):
/// lines in, `PEER: TEXT` out, both directions; piped use delivers and exits 0; status
/// and errors go to standard error as readable lines.
struct ClientEndToEndTests {
    static func startClient(_ name: String, port: Int) throws -> ChildProcess {
        try ChildProcess(executable: "relay-client",
                         arguments: ["--insecure-plaintext", "--trust-relay", "--name", name, "--port", "\(port)"],
                         pipeStandardInput: true)
    }

    /// Waits until the child's standard error contains `text` (it writes status lines
    /// there as they happen).
    static func waitForStatus(_ child: ChildProcess, containing text: String, within seconds: Double = 10) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !child.standardErrorText.contains(text) {
            guard Date() < deadline, child.isRunning else {
                throw HarnessError("no '\(text)' on standard error; got: \(child.standardErrorText)")
            }
            usleep(5_000)
        }
    }

    /// A test peer "b" joined first, its cipher, and a `relay-client` "a" that joined
    /// beside it (b has seen PEER_JOINED).
    static func clientBesidePeer(_ server: RelayServerProcess) throws -> (peer: TestClient, cipher: AuthenticatedCipher, client: ChildProcess) {
        let (peer, welcome) = try server.join("b")
        let cipher = try AuthenticatedCipher(sessionKey: welcome.sessionKey)
        let client = try startClient("a", port: server.port)
        #expect(try peer.receiveFrame() == .peerJoined(name: Array("a".utf8)))
        return (peer, cipher, client)
    }

    /// Expects sealed DATA frames at `peer` that open to `texts`, in order.
    static func expectSealed(_ texts: [String], at peer: TestClient, cipher: AuthenticatedCipher,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        for text in texts {
            let frame = try peer.receiveFrame()
            guard case .data(let sealed) = frame else {
                Issue.record("expected DATA '\(text)', got \(frame.summary)", sourceLocation: sourceLocation)
                return
            }
            #expect(try cipher.open(sealed) == Array(text.utf8), sourceLocation: sourceLocation)
        }
    }

    @Test func twoClientsChatBothWays() throws {
        try withRelayServer { server in
            let alice = try Self.startClient("alice", port: server.port)
            defer { alice.kill() }
            let bob = try Self.startClient("bob", port: server.port)
            defer { bob.kill() }

            try alice.writeInput("hello bob\nhow are you?\n")
            try bob.writeInput("hi alice\nfine, zoë 🙂\n")
            #expect(try alice.standardOutput.nextLine(within: 10) == "bob: hi alice")
            #expect(try alice.standardOutput.nextLine(within: 10) == "bob: fine, zoë 🙂")
            #expect(try bob.standardOutput.nextLine(within: 10) == "alice: hello bob")
            #expect(try bob.standardOutput.nextLine(within: 10) == "alice: how are you?")

            // bob finishes first: alice is there, so he says BYE and exits 0.
            try bob.closeInput()
            #expect(try bob.waitForExit(within: 10) == 0, "bob: \(bob.standardErrorText)")
            try Self.waitForStatus(alice, containing: "bob left")
            // alice finishes with nobody there and nothing undelivered: she exits at once
            // (issue 13: wait only when something is still undelivered).
            try alice.closeInput()
            #expect(try alice.waitForExit(within: 5) == 0, "alice: \(alice.standardErrorText)")

            #expect(try alice.standardOutput.remainingLines(within: 5).isEmpty, "only messages on standard output")
            #expect(try bob.standardOutput.remainingLines(within: 5).isEmpty, "only messages on standard output")
        }
    }

    /// `printf 'hi\n' | relay-client --name a` with a peer present.
    @Test func pipedInputIsDeliveredAndTheClientExitsZero() throws {
        try withRelayServer { server in
            let (peer, cipher, client) = try Self.clientBesidePeer(server)
            defer { client.kill() }
            try client.writeInput("hi\n")
            try client.closeInput()
            try Self.expectSealed(["hi"], at: peer, cipher: cipher)
            #expect(try peer.receiveFrame() == .peerLeft(name: Array("a".utf8)), "then BYE")
            #expect(try client.waitForExit(within: 10) == 0, "\(client.standardErrorText)")
        }
    }

    /// At end of input with nobody there, the client waits for a peer to deliver to.
    @Test func pipedInputWaitsForAPeerToJoin() throws {
        try withRelayServer { server in
            let client = try Self.startClient("a", port: server.port)
            defer { client.kill() }
            try client.writeInput("first\nsecond\n")
            try client.closeInput()
            try Self.waitForStatus(client, containing: "waiting for a peer")
            #expect(client.isRunning)

            let (peer, welcome) = try server.join("b")
            #expect(welcome.peer == "a")
            try Self.expectSealed(["first", "second"], at: peer, cipher: try AuthenticatedCipher(sessionKey: welcome.sessionKey))
            #expect(try peer.receiveFrame() == .peerLeft(name: Array("a".utf8)))
            #expect(try client.waitForExit(within: 10) == 0, "\(client.standardErrorText)")
        }
    }

    /// A message that does not open is reported on standard error and skipped.
    @Test func aMessageThatDoesNotOpenIsSkipped() throws {
        try withRelayServer { server in
            let (peer, cipher, client) = try Self.clientBesidePeer(server)
            defer { client.kill() }

            var forged = cipher.seal(Array("tampered".utf8))
            forged[forged.count - 1] ^= 1
            try peer.send(.data(forged))
            try peer.send(.data(Array(repeating: 0x01, count: 10)))
            try peer.send(.data(cipher.seal(Array("genuine".utf8))))
            #expect(try client.standardOutput.nextLine(within: 10) == "b: genuine")
            #expect(client.isRunning)
            #expect(client.standardErrorText.contains("could not be opened"), "\(client.standardErrorText)")

            try client.closeInput()
            #expect(try client.waitForExit(within: 10) == 0, "\(client.standardErrorText)")
        }
    }

    /// Received text is shown as one safe line: control characters cannot move the
    /// cursor or forge a line of their own.
    @Test func receivedControlCharactersAreNeutralised() throws {
        try withRelayServer { server in
            let (peer, cipher, client) = try Self.clientBesidePeer(server)
            defer { client.kill() }

            try peer.send(.data(cipher.seal(Array("red\u{1B}[31m\rforged\nc: fake\ttab".utf8))))
            #expect(try client.standardOutput.nextLine(within: 10) == "b: red\u{FFFD}[31m\u{FFFD}forged\u{FFFD}c: fake\ttab")
            try client.closeInput()
            #expect(try client.waitForExit(within: 10) == 0, "\(client.standardErrorText)")
            #expect(try client.standardOutput.remainingLines(within: 5).isEmpty)
        }
    }

    /// A line too long for one frame under the relay's --max-frame is reported and
    /// skipped; the lines around it go through.
    @Test func anOverlongLineIsReportedAndSkipped() throws {
        try withRelayServer(["--max-frame", "4096"]) { server in
            let (peer, cipher, client) = try Self.clientBesidePeer(server)
            defer { client.kill() }

            try client.writeInput("before\n" + String(repeating: "x", count: 5000) + "\nafter\n")
            try client.closeInput()
            try Self.expectSealed(["before", "after"], at: peer, cipher: cipher)
            #expect(try peer.receiveFrame() == .peerLeft(name: Array("a".utf8)))
            #expect(try client.waitForExit(within: 10) == 0, "\(client.standardErrorText)")
            #expect(client.standardErrorText.contains("skipped"), "\(client.standardErrorText)")
        }
    }

    @Test func aClientRefusedAsThirdPeerExitsNonZeroWithAReadableLine() throws {
        try withRelayServer { server in
            let (first, _) = try server.join("a")
            let (second, _) = try server.join("b")
            let client = try Self.startClient("c", port: server.port)
            defer { client.kill() }
            let status = try client.waitForExit(within: 10)
            #expect(status != 0)
            let lines = client.standardErrorText.split(separator: "\n")
            #expect(lines.contains { $0.contains("relay full") }, "\(client.standardErrorText)")
            #expect(try client.standardOutput.remainingLines(within: 5).isEmpty)
            withExtendedLifetime((first, second)) {}
        }
    }

    @Test func aRelayThatShutsDownEndsTheClientWithAReadableLine() throws {
        let server = try RelayServerProcess()
        defer { server.child.kill() }
        let (peer, cipher, client) = try Self.clientBesidePeer(server)
        defer { client.kill() }
        try client.writeInput("still there\n")
        try Self.expectSealed(["still there"], at: peer, cipher: cipher)

        server.child.signal(SIGTERM)
        try expectRefusal(peer, .shuttingDown)
        peer.close()
        let status = try client.waitForExit(within: 10)
        #expect(status != 0)
        #expect(client.standardErrorText.contains("shutting down"), "\(client.standardErrorText)")
        #expect(try server.child.waitForExit(within: 10) == 0)
    }

    @Test func noRelayListeningExitsOneNamingTheAddress() throws {
        // A port that was free a moment ago: bind one, note it, close it.
        let probe = try RelayServerProcess()
        let port = probe.port
        probe.child.signal(SIGTERM)
        #expect(try probe.child.waitForExit(within: 10) == 0)

        let client = try Self.startClient("a", port: port)
        defer { client.kill() }
        #expect(try client.waitForExit(within: 10) == 1)
        #expect(client.standardErrorText.contains("127.0.0.1:\(port)"), "\(client.standardErrorText)")
    }

    @Test func anInvalidNameIsBadUsage() throws {
        let client = try ChildProcess(executable: "relay-client",
                                      arguments: ["--insecure-plaintext", "--name", " padded", "--port", "9"])
        #expect(try client.waitForExit(within: 10) == 64)
        #expect(client.standardErrorText.contains("name"), "\(client.standardErrorText)")
    }
}
