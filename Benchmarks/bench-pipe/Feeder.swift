import BenchmarkSupport
#if canImport(Glibc)
import Glibc
#endif

/// The generator: writes `count` bytes of the pattern into the sender's standard input
/// (a pipe of the default 64 KiB size, as a shell pipeline has; relay-client grows it to
/// 1 MiB, the peers do not), 1 MiB per `write`, then closes it, which is the sender's end
/// of input.
struct Feeder {
    let fd: Int32
    let count: Int

    struct Outcome: Sendable {
        var written = 0
        var firstWrite: Double?
        var finished = 0.0
        var cpuSeconds = 0.0
        /// Why it stopped early (the sender went away: EPIPE).
        var error: String?
    }

    func run() -> Outcome {
        // Only this run's CPU, as the counter counts it.
        let cpuAtStart = MonotonicClock.threadCPUSeconds()
        var outcome = Outcome()
        var source = PatternSource()
        var index = 0
        outcome.firstWrite = MonotonicClock.now()
        while outcome.written < count {
            source.select(index)
            let length = min(PatternSource.blockSize, count - outcome.written)
            let error = source.block.withUnsafeBytes { writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            if let error {
                outcome.error = error
                break
            }
            outcome.written += length
            index += 1
        }
        close(fd)
        outcome.finished = MonotonicClock.now()
        outcome.cpuSeconds = MonotonicClock.threadCPUSeconds() - cpuAtStart
        return outcome
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return "write to the sender's standard input: \(String(cString: strerror(errno)))"
            }
            offset += written
        }
        return nil
    }
}
