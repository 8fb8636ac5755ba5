import Foundation
import Testing
import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// PROTOCOL.md section 2, "Shutdown", and the exit codes of the command-line contract:
/// 0 after SIGINT/SIGTERM (ERROR SHUTTING_DOWN to every connection first), 1 with a line
/// naming the address when it cannot listen, 64 for bad usage.
struct ProcessLifecycleTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func signalSendsShuttingDownToEveryConnectionAndExitsZero(signal: Int32) throws {
        let server = try RelayServerProcess()
        defer { server.child.kill() }
        // Accepted in connection order: once alice has her WELCOME, the relay has
        // accepted `waiting` too, which is still in its handshake.
        let waiting = try server.connect()
        let (alice, _) = try server.join("alice")
        let (bob, _) = try server.join("bob")
        #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

        server.child.signal(signal)
        for (client, label) in [(alice, "alice"), (bob, "bob"), (waiting, "a connection in its handshake")] {
            try expectRefusal(client, .shuttingDown, label)
            client.close()
        }
        #expect(try server.child.waitForExit(within: 10) == 0)
        #expect((try? server.connect()) == nil, "nothing listens any more")
    }

    /// A peer that never reads cannot hold the shutdown up beyond its grace period.
    @Test func shutdownDoesNotWaitForAPeerThatNeverReads() throws {
        let server = try RelayServerProcess()
        defer { server.child.kill() }
        let (alice, _) = try server.join("alice")
        let (bob, _) = try server.join("bob")
        #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
        // 4 MiB for bob, who never reads: most of it stays queued in the relay.
        var batch: [UInt8] = []
        for index in 0..<64 { Frame.data(numberedBody(index, count: 65536)).encode(into: &batch) }
        try alice.send(batch)
        try expectNothingPending(alice)

        server.child.signal(SIGTERM)
        try expectRefusal(alice, .shuttingDown, "alice")
        #expect(try server.child.waitForExit(within: 10) == 0)
        withExtendedLifetime(bob) {}
    }

    @Test func portInUseExitsOneNamingTheAddress() throws {
        // Hold a listening socket on a free port.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #expect(holder >= 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(holder, pointer, length) == 0 && listen(holder, 4) == 0 && getsockname(holder, pointer, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))

        let child = try ChildProcess(executable: "relay-server",
                                     arguments: ["--insecure-plaintext", "--host", "127.0.0.1", "--port", "\(port)"])
        #expect(try child.waitForExit(within: 10) == 1)
        let message = child.standardErrorText
        #expect(message.contains("127.0.0.1:\(port)"), "stderr: \(message)")
        #expect(message.split(separator: "\n").count == 1, "one line: \(message)")
        #expect(try child.standardOutput.remainingLines(within: 5).isEmpty, "no 'listening on' line")
    }

    @Test(arguments: [
        ["--port", "70000"],
        ["--port", "-1"],
        ["--no-such-option"],
        ["--queue-limit", "10"],
        ["--max-frame", "lots"],
        ["--max-frame", "16"],
        ["--handshake-timeout", "0"],
        ["--log-level", "loud"],
        ["unexpected-argument"],
    ])
    func badUsageExits64(arguments: [String]) throws {
        let child = try ChildProcess(executable: "relay-server",
                                     arguments: ["--insecure-plaintext", "--port", "0"] + arguments)
        #expect(try child.waitForExit(within: 10) == 64)
        #expect(!child.standardErrorText.isEmpty, "a usage message on standard error")
        #expect(try child.standardOutput.remainingLines(within: 5).isEmpty, "no 'listening on' line")
    }

    @Test func helpExplainsEveryOptionOfTheContract() throws {
        let child = try ChildProcess(executable: "relay-server", arguments: ["--help"])
        let help = try child.standardOutput.remainingLines(within: 10).joined(separator: "\n")
        #expect(try child.waitForExit(within: 10) == 0)
        for option in ["--host", "--port", "--max-frame", "--handshake-timeout", "--queue-limit", "--legacy", "--insecure-plaintext"] {
            #expect(help.contains(option), "\(option) in --help")
        }
    }
}
