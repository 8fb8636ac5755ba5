import Foundation
import Testing
import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Descriptors are a resource like memory: the relay bounds the pipes it splices large
/// frames through (4 per connection, 64 in all, then it copies), raises its soft limit
/// to the hard one at start, and refuses a `--max-connections` the limit cannot serve.
struct DescriptorTests {
    /// Two stalled peers: alice sends 64 KiB frames (their bodies are spliced through
    /// pipes) to bob, who reads nothing. The pipes the relay holds stay bounded, and
    /// every frame still arrives whole and in order once bob reads.
    @Test func pipesHeldForAStalledReceiverAreBounded() throws {
        try withRelayServer(["--queue-limit", "33554432"]) { server in
            let (alice, _) = try server.join("alice", receiveTimeout: 20)
            let (bob, _) = try server.join("bob", receiveTimeout: 20)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            let before = try server.openDescriptorCount()

            let frameCount = (24 << 20) / 65536
            let sent = SharedCounter()
            let writer = BackpressureTests.startPushing(frameCount, bodyCount: 65536, from: alice, counting: sent)
            try BackpressureTests.waitUntilStalled(sent, writer)
            let held = try server.openDescriptorCount()
            // 4 pipes per connection (8 descriptors) at most, and a few to spare.
            #expect(held - before <= 10, "the relay opened \(held - before) descriptors for two stalled peers")
            print("descriptors: \(before) before, \(held) with a stalled receiver (\(sent.value >> 20) MiB sent)")

            #expect(try BackpressureTests.expectNumberedFrames(frameCount, bodyCount: 65536, at: bob) == frameCount * 65536)
            try writer.value(within: 20)
            try expectNothingPending(bob)
        }
    }

    @Test func theSoftLimitIsRaisedToTheHardOneAtStart() throws {
        let server = try RelayServerProcess(["--log-level", "info"], descriptorLimit: (soft: 700, hard: 4096))
        defer { server.child.kill() }
        let limits = try readProcFile("/proc/\(server.pid)/limits")
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }
        let fields = line?.split(separator: " ", omittingEmptySubsequences: true) ?? []
        #expect(fields.count >= 5 && fields[3] == "4096" && fields[4] == "4096", "limits: \(line.map(String.init) ?? "none")")
        #expect(server.child.standardErrorText.contains("descriptor limit"), "the relay should log the limit it runs with")
    }

    @Test func aMaxConnectionsTheLimitCannotServeIsRefusedAtStart() throws {
        let child = try ChildProcess(
            executable: "relay-server",
            arguments: ["--insecure-plaintext", "--port", "0", "--max-connections", "512"],
            descriptorLimit: (soft: 256, hard: 256))
        #expect(try child.waitForExit(within: 10) == 64)
        let message = child.standardErrorText
        #expect(message.contains("--max-connections 512") && message.contains("256"), "stderr: \(message)")
    }
}
