import Glibc

/// Runs `count` messages through one implementation and returns a value that depends
/// on every output (e.g. a sum of last bytes). The harness folds it into `ResultSink`,
/// so the optimizer cannot delete the work.
typealias Batch = (_ count: Int) -> UInt64

/// The batch that runs `message` `count` times and sums what it returns (e.g. the last
/// byte of each output).
func repeating(_ message: @escaping () -> UInt8) -> Batch {
    { count in
        var sum: UInt64 = 0
        for _ in 0..<count { sum &+= UInt64(message()) }
        return sum
    }
}

/// How long to measure. Each case is warmed up, then sampled once per round for at least
/// `sampleSeconds`, the implementations of one case taking turns in every round. Samples
/// are short and many, so that some escape preemption on a busy machine; the best one
/// counts (noise only ever slows a run down).
struct MeasurementSettings: Codable {
    var rounds: Int
    var sampleSeconds: Double
    var warmUpSeconds: Double
    var clock: BenchClock
    /// The Python baseline times itself: best of this many runs of `pythonSeconds`.
    var pythonRepetitions: Int
    var pythonSeconds: Double

    /// About 6 s for the six standard sizes.
    static func quick(clock: BenchClock) -> MeasurementSettings {
        MeasurementSettings(rounds: 20, sampleSeconds: 0.003, warmUpSeconds: 0.01, clock: clock,
                            pythonRepetitions: 3, pythonSeconds: 0.1)
    }

    /// About 45 s of sampling for the six standard sizes (a minute with set-up and Python).
    static func standard(clock: BenchClock) -> MeasurementSettings {
        MeasurementSettings(rounds: 100, sampleSeconds: 0.005, warmUpSeconds: 0.05, clock: clock,
                            pythonRepetitions: 5, pythonSeconds: 0.3)
    }

    /// One batch lasts about this long, so the clock is read rarely but often enough to
    /// stop close to `sampleSeconds`.
    var batchSeconds: Double { sampleSeconds / 10 }
}

/// What a sample's duration is measured with.
enum BenchClock: String, Codable, CaseIterable {
    /// `CLOCK_MONOTONIC`: wall time, the default.
    case monotonic
    /// `CLOCK_THREAD_CPUTIME_ID`: this thread's CPU time, which leaves out time spent
    /// preempted by other processes (a 2-core machine shared with compilers).
    case threadCPU

    /// Nanoseconds from an arbitrary start.
    func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(self == .monotonic ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    func seconds(since start: UInt64) -> Double {
        Double(nanoseconds() - start) / 1e9
    }
}

/// Where batch results go so that they count as used.
enum ResultSink {
    nonisolated(unsafe) static var value: UInt64 = 0
}

/// One implementation of one operation at one size, being timed.
final class TimedCase {
    private let batch: Batch
    private var batchSize = 1
    /// The best rate seen so far, in messages per second.
    private(set) var bestRate = 0.0

    private let clock: BenchClock

    init(_ batch: @escaping Batch, clock: BenchClock) {
        self.batch = batch
        self.clock = clock
    }

    /// Finds a batch size lasting about `settings.batchSeconds`, then runs for the warm-up time.
    func warmUp(_ settings: MeasurementSettings) {
        while true {
            let start = clock.nanoseconds()
            ResultSink.value &+= batch(batchSize)
            let elapsed = clock.seconds(since: start)
            if elapsed >= settings.batchSeconds || batchSize >= 1 << 24 { break }
            let scale = elapsed > 0 ? settings.batchSeconds / elapsed : 16
            batchSize = max(batchSize + 1, Int(Double(batchSize) * min(scale * 1.2, 16)))
        }
        _ = run(seconds: settings.warmUpSeconds)
    }

    /// Runs whole batches for at least `seconds` and keeps the rate if it is the best.
    func sample(seconds: Double) {
        bestRate = max(bestRate, run(seconds: seconds))
    }

    private func run(seconds: Double) -> Double {
        var messages = 0
        let start = clock.nanoseconds()
        var elapsed = 0.0
        repeat {
            ResultSink.value &+= batch(batchSize)
            messages += batchSize
            elapsed = clock.seconds(since: start)
        } while elapsed < seconds
        return Double(messages) / elapsed
    }
}
