/// What one run of one row measured.
struct RunFigures: Codable, Sendable {
    let row: String
    let bytes: Int
    var received = 0
    /// Whether every byte received was the one sent; nil when not compared (`--length-only`).
    var bytesMatched: Bool?
    /// From just before the sender is started to the receiver's last byte: the wall time
    /// of `generator | sender` … `receiver | counter` (session set-up included).
    var seconds: Double?
    /// From the sender's start to the first byte out of the receiver (connect, TLS and
    /// end-to-end handshakes, pairing).
    var setupSeconds: Double?
    /// From the first byte out of the receiver to the last.
    var transferSeconds: Double?
    /// By role: sender, relay, receiver.
    var processes: [String: ProcessFigures] = [:]
    /// The benchmark's own generator and counter threads.
    var feederCPUSeconds: Double?
    var counterCPUSeconds: Double?
    var problems: [String] = []

    /// End to end, MB/s (10^6 bytes): bytes over `seconds`.
    var megabytesPerSecond: Double? { seconds.map { Double(bytes) / $0 / 1e6 } }
    /// Bytes over `transferSeconds`, MB/s: the steady rate, set-up left out.
    var transferMegabytesPerSecond: Double? { transferSeconds.map { Double(bytes) / $0 / 1e6 } }
    var succeeded: Bool { problems.isEmpty && received == bytes }
}

/// One process's resources over a run, from `wait4`.
struct ProcessFigures: Codable, Sendable {
    let cpuSeconds: Double
    let userSeconds: Double
    let systemSeconds: Double
    /// CPU seconds per GiB moved (start-up and handshakes included).
    let cpuSecondsPerGiB: Double
    /// VmHWM (/proc/PID/status) sampled every 50 ms while bytes flowed, KiB; the last
    /// 50 ms before an exit are missed. `ru_maxrss` when never sampled (see PeakSamples).
    let peakKiB: Int
    let exitCode: Int32

    init(_ usage: ChildUsage, bytes: Int, sampledPeakKiB: Int?) {
        cpuSeconds = usage.cpuSeconds
        userSeconds = usage.userSeconds
        systemSeconds = usage.systemSeconds
        cpuSecondsPerGiB = usage.cpuSeconds / (Double(bytes) / Double(1 << 30))
        peakKiB = sampledPeakKiB ?? usage.peakKiB
        exitCode = usage.exitCode
    }
}
