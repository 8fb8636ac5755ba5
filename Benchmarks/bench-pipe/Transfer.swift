#if canImport(Glibc)
import Glibc
#endif

/// One run of one row: start the relay and the receiver, start the sender, feed `bytes`
/// into the sender's standard input while counting the receiver's standard output, wait
/// for the peers to exit (or stop them, for a receiver that sees no end), stop the relay,
/// and take every process's CPU time and peak RSS from `wait4`.
struct Transfer {
    let bytes: Int
    let compare: Bool
    /// Seconds to wait for the peers to exit once the bytes are in.
    static let exitWait = 30.0
    static let stallSeconds = 60.0

    func run(_ row: inout some Row) -> RunFigures {
        var figures = RunFigures(row: row.name, bytes: bytes)
        var children: [(String, Child)] = []
        let peaks = PeakSamples()
        do {
            let output = try PipePair()
            let input = try PipePair()
            // The feeder closes the write end when it is done (the sender's end of input);
            // until it owns it, any error closes it here.
            var feederOwnsInput = false
            defer { if !feederOwnsInput { close(input.writeEnd) } }
            let (relay, receiver) = try row.startRelayAndReceiver(receiverOutput: output.writeEnd)
            close(output.writeEnd)
            defer { close(output.readEnd) }
            children = [("relay", relay), ("receiver", receiver)]
            let started = MonotonicClock.now()
            let sender = try row.startSender(senderInput: input.readEnd)
            close(input.readEnd)
            children.insert(("sender", sender), at: 0)

            let feederInput = input.writeEnd
            feederOwnsInput = true
            let feeder = Worker("feeder") { Feeder(fd: feederInput, count: bytes).run() }
            var counter = Counter(fd: output.readEnd, stopAt: row.receiverSeesEnd ? nil : bytes, compare: compare,
                                  stallSeconds: Self.stallSeconds)
            let sampling = children
            counter.sample = { for (role, child) in sampling { peaks.note(role, child.residentHighWaterKiB()) } }
            let counted = counter.run()
            counter.sample()
            if counted.error != nil || counted.received < bytes {
                // The sender may be stuck: stopping it unblocks the feeder (EPIPE).
                sender.stop(within: 2)
            }
            let fed = feeder.join()
            record(fed, counted, started: started, into: &figures)
            if row.receiverSeesEnd {
                for (role, child) in children where role != "relay" && child.waitForExit(within: Self.exitWait) == nil {
                    figures.problems.append("\(child.label) did not exit within \(Int(Self.exitWait)) s of its end")
                }
            }
        } catch {
            figures.problems.append("\(error)")
        }
        for (role, child) in children where role == "relay" { peaks.note(role, child.residentHighWaterKiB()) }
        for (role, child) in children {
            let exited = !child.isRunning
            guard let usage = child.stop(within: 5) else { continue }
            figures.processes[role] = ProcessFigures(usage, bytes: bytes, sampledPeakKiB: peaks.kib[role])
            if exited, row.receiverSeesEnd, usage.exitCode != 0 {
                figures.problems.append("\(child.label) exited with status \(usage.exitCode): \(child.stderrTail())")
            }
        }
        row.finish()
        return figures
    }

    private func record(_ fed: Feeder.Outcome, _ counted: Counter.Outcome, started: Double, into figures: inout RunFigures) {
        figures.received = counted.received
        figures.feederCPUSeconds = fed.cpuSeconds
        figures.counterCPUSeconds = counted.cpuSeconds
        if let error = fed.error { figures.problems.append(error) }
        if let error = counted.error { figures.problems.append(error) }
        if counted.received != bytes {
            figures.problems.append("received \(counted.received) bytes, expected \(bytes)")
        }
        if compare {
            figures.bytesMatched = counted.firstMismatch == nil
            if let offset = counted.firstMismatch {
                figures.problems.append("the bytes received differ from those sent, first at offset \(offset)")
            }
        }
        if let first = counted.firstByte, let last = counted.lastByte {
            figures.seconds = last - started
            figures.setupSeconds = first - started
            figures.transferSeconds = last - first
        }
    }
}

/// The largest VmHWM seen of each role while the bytes flowed (/proc/PID/status).
/// `wait4`'s ru_maxrss cannot serve: posix_spawn's child shares the benchmark's memory
/// until it execs, so ru_maxrss starts at the benchmark's own resident size.
final class PeakSamples {
    private(set) var kib: [String: Int] = [:]

    func note(_ role: String, _ value: Int?) {
        guard let value else { return }
        kib[role] = max(kib[role] ?? 0, value)
    }
}
