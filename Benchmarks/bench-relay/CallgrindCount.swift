#if canImport(Glibc)
import Glibc
#endif

/// `--instructions`: CPU instructions the relay-server process executes per forwarded
/// 64-byte message, counted by `valgrind --tool=callgrind` (`Ir`). Each figure is the
/// difference of two runs that differ only in the number of messages, so start-up,
/// handshake and shutdown cancel out.
enum CallgrindCount {
    static let lockStepRounds = (small: 200, large: 2_200)
    static let pipelinedFrames = (small: 1_000, large: 101_000)

    /// `keepIn`: a directory where the four callgrind outputs are kept (for
    /// `callgrind_annotate`); by default they are deleted.
    static func run(launcher: PathLauncher, valgrind: String, bodyCount: Int, keepIn directory: String? = nil) throws -> InstructionCount {
        // Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes; a copy without
        // debug information (symbols kept) runs fine and profiles with function names.
        let stripped = "/tmp/bench-relay-\(getpid())-relay-server"
        defer { unlink(stripped) }
        guard let strip = Tools.onPath("strip"),
              try ChildProcess([strip, "--strip-debug", "-o", stripped, launcher.relayServer]).waitForExit() == 0
        else { throw BenchError("cannot make a copy of relay-server without debug information (strip --strip-debug)") }
        var run = 0
        func instructions(_ work: (OpenPath) throws -> Void) throws -> Int {
            run += 1
            let output = directory.map { "\($0)/callgrind-\(run).out" } ?? "/tmp/bench-relay-callgrind-\(getpid())-\(run).out"
            defer {
                if directory == nil {
                    unlink(output)
                    unlink(output + ".log")
                }
            }
            var counted = launcher
            counted.relayServer = stripped
            counted.relayWrapper = [valgrind, "--tool=callgrind", "--callgrind-out-file=\(output)"]
            counted.relayStderr = output + ".log"
            let path = try counted.open(.relay)
            do {
                try work(path)
            } catch {
                path.close(stopWithin: 60)
                throw error
            }
            path.close(stopWithin: 60)
            guard let total = totalInstructions(in: output) else {
                throw BenchError("callgrind wrote no instruction total (see \(output).log)")
            }
            return total
        }
        let rounds = lockStepRounds
        let lockStepSmall = try instructions { path throws in
            _ = try RoundTripScenario.run(on: path, bodyCount: bodyCount, rounds: rounds.small, warmup: 0)
        }
        let lockStepLarge = try instructions { path throws in
            _ = try RoundTripScenario.run(on: path, bodyCount: bodyCount, rounds: rounds.large, warmup: 0)
        }
        let frames = pipelinedFrames
        let pipelinedSmall = try instructions { path throws in
            _ = try StreamScenario.run(on: path, bodyCount: bodyCount, frameLimit: frames.small)
        }
        let pipelinedLarge = try instructions { path throws in
            _ = try StreamScenario.run(on: path, bodyCount: bodyCount, frameLimit: frames.large)
        }
        // Each round trip forwards two messages (A → B and B → A).
        let lockStepMessages = 2 * (rounds.large - rounds.small)
        let pipelinedMessages = frames.large - frames.small
        return InstructionCount(
            perMessageLockStep: Double(lockStepLarge - lockStepSmall) / Double(lockStepMessages),
            perMessagePipelined: Double(pipelinedLarge - pipelinedSmall) / Double(pipelinedMessages),
            lockStepMessages: lockStepMessages, pipelinedMessages: pipelinedMessages)
    }

    /// The `totals:` (or `summary:`) line of a callgrind output file: instructions (Ir).
    static func totalInstructions(in path: String) -> Int? {
        var total: Int?
        for line in TextFile.lines(path) ?? [] {
            for prefix in ["totals:", "summary:"] where line.hasPrefix(prefix) {
                total = line.dropFirst(prefix.count).split(separator: " ").first.flatMap { Int($0.filter(\.isNumber)) }
            }
        }
        return total
    }
}
