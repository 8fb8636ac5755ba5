import Foundation
import Testing
import RelayProtocol

/// PROTOCOL.md section 2, "slow peer": a receiver that stops reading makes the relay
/// stop reading the sender at `--queue-limit`, so the relay's memory stays bounded
/// whatever the sender pushes; nothing accepted is dropped.
struct BackpressureTests {
    static let total = 64 << 20
    static let largeBodyCount = 64 * 1024
    static let memoryBound = 64 << 20
    /// Under a sanitizer (scripts/sanitize.sh sets RELAY_TEST_SANITIZER) the relay's
    /// resident size is the sanitizer's shadow memory and quarantine, not the relay's
    /// buffers: the bound is not checked there, everything else is.
    static let checksResidentMemory = ProcessInfo.processInfo.environment["RELAY_TEST_SANITIZER"] == nil

    /// 16 KiB bodies go through the relay's own buffers; 64 KiB bodies are partly moved
    /// through pipes (splice), whose bytes count against the same queue limit.
    @Test(arguments: [16 * 1024, 64 * 1024])
    func aReceiverThatStopsReadingKeepsTheRelaysMemoryBounded(bodyCount: Int) throws {
        try withRelayServer { server in  // the default --queue-limit, 8 MiB
            let (alice, _) = try server.join("alice", receiveTimeout: 20)
            let (bob, _) = try server.join("bob", receiveTimeout: 20)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            let frameCount = Self.total / bodyCount
            let sent = SharedCounter()
            var sampler = MemorySampler(server)
            let writer = Self.startPushing(frameCount, bodyCount: bodyCount, from: alice, counting: sent)

            // bob reads nothing until alice is held back: her writes stop progressing.
            try Self.waitUntilStalled(sent, writer)
            let heldBackAt = sent.value
            #expect(heldBackAt < Self.total, "the relay should stop reading alice while bob does not read")
            #expect(try server.unreadBytes(from: alice) > 0, "alice's bytes wait unread in the relay's socket")
            let peakWhileStalled = try sampler.stop()

            // Now bob reads everything, in order, while memory is still sampled.
            sampler = MemorySampler(server)
            let received = try Self.expectNumberedFrames(frameCount, bodyCount: bodyCount, at: bob)
            let peakWhileDraining = try sampler.stop()
            try writer.value(within: 20)
            let highWaterMark = try server.memory("VmHWM")

            #expect(received == Self.total)
            #expect(!Self.checksResidentMemory || peakWhileStalled < Self.memoryBound, "VmRSS while bob was not reading: \(peakWhileStalled) bytes")
            #expect(!Self.checksResidentMemory || peakWhileDraining < Self.memoryBound, "VmRSS while bob was reading: \(peakWhileDraining) bytes")
            #expect(!Self.checksResidentMemory || highWaterMark < Self.memoryBound, "the relay's peak resident memory (VmHWM): \(highWaterMark) bytes")
            try expectNothingPending(bob)
            let mebibyte = Double(1 << 20)
            print(String(format: "backpressure, %d KiB bodies: alice held back after %.1f MiB; relay VmRSS peak %.1f MiB stalled, %.1f MiB draining; VmHWM %.1f MiB",
                         bodyCount / 1024, Double(heldBackAt) / mebibyte, Double(peakWhileStalled) / mebibyte,
                         Double(peakWhileDraining) / mebibyte, Double(highWaterMark) / mebibyte))
        }
    }

    /// With nobody to deliver to, a lone sender is held back at the queue limit too; the
    /// held DATA reaches the peer that joins, in order, and the sender is read again.
    @Test func aLoneSenderIsHeldBackUntilAPeerJoins() throws {
        try withRelayServer(["--queue-limit", "1048576"]) { server in
            let (alice, _) = try server.join("alice", receiveTimeout: 20)
            let total = 24 << 20
            let frameCount = total / Self.largeBodyCount
            let sent = SharedCounter()
            let writer = Self.startPushing(frameCount, bodyCount: Self.largeBodyCount, from: alice, counting: sent)
            try Self.waitUntilStalled(sent, writer)
            #expect(sent.value < total, "the relay should stop reading alice while nobody can take her DATA")
            #expect(try server.unreadBytes(from: alice) > 0, "alice's bytes wait unread in the relay's socket")
            let residentWhileAlone = try server.memory("VmRSS")
            print("backpressure, lone sender: held back after \(sent.value >> 20) MiB; relay VmRSS \(residentWhileAlone >> 20) MiB")

            let (bob, welcome) = try server.join("bob", receiveTimeout: 20)
            #expect(welcome.peer == "alice")
            #expect(try Self.expectNumberedFrames(frameCount, bodyCount: Self.largeBodyCount, at: bob) == total)
            try writer.value(within: 20)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))
            #expect(!Self.checksResidentMemory || residentWhileAlone < Self.memoryBound)
            try expectNothingPending(bob)
        }
    }

    /// A client that sends PINGs and never reads its PONGs is held back as well.
    @Test func aClientThatNeverReadsItsPongsIsHeldBack() throws {
        try withRelayServer(["--queue-limit", "65536"]) { server in
            let alice = try TestClient(port: server.port, receiveTimeout: 20, socketBufferSize: 65536)
            _ = try alice.join("alice")
            let ping = Frame.ping(Array(0..<64)).encoded()
            let batch = Array([[UInt8]](repeating: ping, count: 4096).joined())
            let batches = 36  // about 10 MiB of PINGs: beyond what kernel buffers hold (about 6 MiB)
            let total = batches * batch.count
            let sent = SharedCounter()
            let writer = BackgroundWork("alice's PINGs") {
                for _ in 0..<batches {
                    try alice.send(batch)
                    sent.add(batch.count)
                }
            }
            try Self.waitUntilStalled(sent, writer)
            // Kernel buffers on both sides hold several MiB; what proves the relay stopped
            // reading is alice's bytes waiting unread in its socket.
            #expect(try server.unreadBytes(from: alice) > 0, "the relay should stop reading a client that does not read its PONGs")
            #expect(try !Self.checksResidentMemory || server.memory("VmRSS") < Self.memoryBound)

            // Reading the PONGs lets alice go on; each is its PING with the type changed.
            var pong = ping
            pong[4] = FrameType.pong.rawValue
            let expected = Array([[UInt8]](repeating: pong, count: 4096).joined())
            var received = 0
            while received < total {
                guard let chunk = alice.receiveBytes(upTo: expected.count - received % expected.count) else {
                    Issue.record("the PONGs stopped after \(received) of \(total) bytes")
                    return
                }
                let start = received % expected.count
                let same = chunk.withUnsafeBytes { got in
                    expected.withUnsafeBytes { memcmp(got.baseAddress!, $0.baseAddress! + start, got.count) == 0 }
                }
                guard same else {
                    Issue.record("PONG bytes differ from their PINGs after \(received) bytes")
                    return
                }
                received += chunk.count
            }
            try writer.value(within: 20)
            #expect(received == total)
        }
    }

    /// Sends `frameCount` numbered DATA frames of `bodyCount` bytes from a thread of its
    /// own, in writes of about 1 MiB, counting the bytes the kernel took.
    static func startPushing(_ frameCount: Int, bodyCount: Int, from client: TestClient, counting sent: SharedCounter) -> BackgroundWork<Void> {
        BackgroundWork("pushing \(frameCount) frames") {
            var batch: [UInt8] = []
            for index in 0..<frameCount {
                Frame.data(numberedBody(index, count: bodyCount)).encode(into: &batch)
                if batch.count >= 1 << 20 || index == frameCount - 1 {
                    try client.send(batch)
                    sent.add(batch.count)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    /// Reads the frames ``startPushing(_:bodyCount:from:counting:)`` sent, checking each;
    /// returns the body bytes that arrived in order.
    static func expectNumberedFrames(_ frameCount: Int, bodyCount: Int, at client: TestClient) throws -> Int {
        for index in 0..<frameCount {
            let frame = try client.receiveFrame()
            guard frame == .data(numberedBody(index, count: bodyCount)) else {
                Issue.record("frame \(index) of \(frameCount): got \(frame.summary), sequence \(frame.dataSequence.map(String.init) ?? "-")")
                return index * bodyCount
            }
        }
        return frameCount * bodyCount
    }

    /// Waits until the writer's progress stops for half a second (the relay stopped
    /// reading it) or it finishes.
    static func waitUntilStalled(_ sent: SharedCounter, _ writer: BackgroundWork<Void>) throws {
        var last = -1
        var lastProgress = Date()
        let giveUp = Date().addingTimeInterval(20)
        while Date().timeIntervalSince(lastProgress) < 0.5, !writer.isFinished {
            guard Date() < giveUp else { throw HarnessError("the writer neither stalled nor finished") }
            if sent.value != last {
                last = sent.value
                lastProgress = Date()
            }
            usleep(5_000)
        }
    }
}

/// Samples a relay's resident memory every few milliseconds on a thread of its own.
struct MemorySampler {
    private let stopFlag = SharedFlag()
    private let work: BackgroundWork<Int>

    init(_ server: RelayServerProcess) {
        let stopFlag = self.stopFlag
        work = BackgroundWork("VmRSS sampler") {
            var peak = 0
            repeat {
                peak = max(peak, try server.memory("VmRSS"))
                usleep(5_000)
            } while !stopFlag.isRaised
            return peak
        }
    }

    /// Stops sampling; the largest VmRSS seen, in bytes.
    func stop() throws -> Int {
        stopFlag.raise()
        return try work.value(within: 5)
    }
}

extension Frame {
    /// A DATA frame's sequence number (see ``numberedBody(_:count:)``), for messages.
    var dataSequence: Int? {
        if case .data(let body) = self { sequenceNumber(of: body) } else { nil }
    }
}
