import BenchmarkSupport
#if canImport(Glibc)
import Glibc
#endif

/// The consumer: reads the receiver's standard output, counts the bytes and compares
/// them with the pattern sent, until end of file, or, for a receiver that never sees an end (ncat's broker
/// keeps its clients connected), until `stopAt` bytes came.
struct Counter {
    let fd: Int32
    /// Stop at this many bytes instead of at end of file (nil: read to end of file).
    let stopAt: Int?
    /// Compare every byte with the pattern (`PatternCheck`), not only count them.
    let compare: Bool
    /// Give up when nothing arrives for this long.
    let stallSeconds: Double
    /// Called about every 50 ms while bytes flow (peak RSS sampling).
    var sample: () -> Void = {}

    struct Outcome: Sendable {
        var received = 0
        var firstByte: Double?
        var lastByte: Double?
        /// The stream offset of the first byte that was not the pattern's (when compared).
        var firstMismatch: Int?
        var cpuSeconds = 0.0
        var error: String?
    }

    func run() -> Outcome {
        // This thread may have run before (the counter runs on the main thread, run after
        // run): count only this run's CPU.
        let cpuAtStart = MonotonicClock.threadCPUSeconds()
        var outcome = Outcome()
        var check = PatternCheck()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var sampled = 0.0
        while stopAt.map({ outcome.received < $0 }) ?? true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(stallSeconds * 1000))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else {
                outcome.error = "nothing arrived for \(Int(stallSeconds)) s after \(outcome.received) bytes"
                break
            }
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                outcome.error = "read from the receiver: \(String(cString: strerror(errno)))"
                break
            }
            if count == 0 { break }
            let now = MonotonicClock.now()
            if outcome.firstByte == nil { outcome.firstByte = now }
            outcome.lastByte = now
            outcome.received += count
            if now - sampled > 0.05 {
                sampled = now
                sample()
            }
            if compare { check.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
        }
        outcome.firstMismatch = check.firstMismatch
        outcome.cpuSeconds = MonotonicClock.threadCPUSeconds() - cpuAtStart
        return outcome
    }
}
