import Foundation
import Testing
import RelayProtocol

/// PROTOCOL.md section 2, "slow peer": a receiver that stops reading makes the relay
/// stop reading the sender at `--queue-limit`, so the relay's memory stays bounded
/// whatever the sender pushes; nothing accepted is dropped.
struct BackpressureTests {
    static let total = 64 << 20
    static let bodyCount = 64 * 1024
    static let framesPerWrite = 16
    static let memoryBound = 64 << 20

    @Test func aReceiverThatStopsReadingKeepsTheRelaysMemoryBounded() throws {
        try withRelayServer { server in  // the default --queue-limit, 8 MiB
            let (alice, _) = try server.join("alice", receiveTimeout: 20)
            let (bob, _) = try server.join("bob", receiveTimeout: 20)
            #expect(try alice.receiveFrame() == .peerJoined(name: Array("bob".utf8)))

            let frameCount = Self.total / Self.bodyCount
            let sent = SharedCounter()
            let writer = BackgroundWork("alice's 64 MiB") {
                var batch: [UInt8] = []
                for index in 0..<frameCount {
                    Frame.data(numberedBody(index, count: Self.bodyCount)).encode(into: &batch)
                    if (index + 1) % Self.framesPerWrite == 0 || index == frameCount - 1 {
                        try alice.send(batch)
                        sent.add(batch.count)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
            }

            // bob reads nothing until alice is held back: her writes stop progressing.
            var peakWhileStalled = 0
            var lastSent = -1
            var lastProgress = Date()
            let giveUp = Date().addingTimeInterval(20)
            while Date().timeIntervalSince(lastProgress) < 0.5, !writer.isFinished, Date() < giveUp {
                peakWhileStalled = max(peakWhileStalled, try server.memory("VmRSS"))
                if sent.value != lastSent {
                    lastSent = sent.value
                    lastProgress = Date()
                }
                usleep(5_000)
            }
            let heldBackAt = sent.value
            #expect(heldBackAt < Self.total, "the relay should stop reading alice while bob does not read")

            // Now bob reads everything, while memory is still sampled.
            let stopSampling = SharedFlag()
            let sampler = BackgroundWork("VmRSS sampler") { () -> Int in
                var peak = 0
                while !stopSampling.isRaised {
                    peak = max(peak, (try? server.memory("VmRSS")) ?? 0)
                    usleep(5_000)
                }
                return peak
            }
            var received = 0
            for index in 0..<frameCount {
                let frame = try bob.receiveFrame()
                guard frame == .data(numberedBody(index, count: Self.bodyCount)) else {
                    Issue.record("frame \(index) of \(frameCount): got \(frame.summary), sequence \(frame.dataSequence.map(String.init) ?? "-")")
                    break
                }
                received += Self.bodyCount
            }
            stopSampling.raise()
            let peakWhileDraining = try sampler.value(within: 5)
            try writer.value(within: 20)
            let highWaterMark = try server.memory("VmHWM")

            #expect(received == Self.total)
            #expect(peakWhileStalled < Self.memoryBound, "VmRSS while bob was not reading: \(peakWhileStalled) bytes")
            #expect(peakWhileDraining < Self.memoryBound, "VmRSS while bob was reading: \(peakWhileDraining) bytes")
            #expect(highWaterMark < Self.memoryBound, "the relay's peak resident memory (VmHWM): \(highWaterMark) bytes")
            try expectNothingPending(bob)
            let mebibyte = Double(1 << 20)
            print(String(format: "backpressure: alice held back after %.1f MiB; relay VmRSS peak %.1f MiB stalled, %.1f MiB draining; VmHWM %.1f MiB",
                         Double(heldBackAt) / mebibyte, Double(peakWhileStalled) / mebibyte,
                         Double(peakWhileDraining) / mebibyte, Double(highWaterMark) / mebibyte))
        }
    }
}

extension Frame {
    /// A DATA frame's sequence number (see ``numberedBody(_:count:)``), for messages.
    var dataSequence: Int? {
        if case .data(let body) = self { sequenceNumber(of: body) } else { nil }
    }
}
