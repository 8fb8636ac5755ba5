import ArgumentParser
import Foundation

/// The command line: options only; the work is in `BenchmarkRunner`.
struct BenchCryptoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-crypto",
        abstract: "Throughput of RelayCrypto's encrypt/decrypt/seal/open, end-to-end records and agreements beside raw EVP and swift-crypto.",
        discussion: """
            Every operation and size is measured against its baselines in the same run, \
            interleaved, best of many short time-bounded samples. Build with -c release.
            """
    )

    @Flag(help: "A short run (under 10 s): fewer and shorter samples.")
    var quick = false

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    @Option(help: "Comma-separated message sizes in bytes; K and M mean KiB and MiB.",
            transform: MessageSizes.parse)
    var sizes: [Int] = MessageSizes.standard

    @Flag(help: "Time samples with this thread's CPU time instead of the monotonic wall clock (steadier on a busy machine).")
    var cpuTime = false

    @Flag(help: "Skip the Python `cryptography` baseline.")
    var noPython = false

    func run() throws {
        let clock: BenchClock = cpuTime ? .threadCPU : .monotonic
        let settings = quick ? MeasurementSettings.quick(clock: clock) : MeasurementSettings.standard(clock: clock)
        let runner = BenchmarkRunner(settings: settings, sizes: sizes, progress: !json)
        let report = runner.run(includePython: !noPython)
        if json {
            print(try JSONReport.render(report))
        } else {
            print(TableReport.render(report))
        }
    }
}

/// Parsing and printing message sizes such as `16`, `1K`, `1M`.
enum MessageSizes {
    static let standard = [16, 64, 256, 1024, 16 * 1024, 1024 * 1024]
    static let maximum = 64 << 20

    static func parse(_ text: String) throws -> [Int] {
        let sizes = try text.split(separator: ",").map { item -> Int in
            let token = item.trimmingCharacters(in: .whitespaces).uppercased()
            let (digits, scale) = token.hasSuffix("M") ? (token.dropLast(), 1 << 20)
                : token.hasSuffix("K") ? (token.dropLast(), 1 << 10) : (Substring(token), 1)
            guard let value = Int(digits), value > 0, value <= maximum / scale else {
                throw ValidationError("bad size '\(item)': use e.g. 16, 64, 1K, 16K, 1M (at most 64M)")
            }
            return value * scale
        }
        guard !sizes.isEmpty else { throw ValidationError("--sizes needs at least one size") }
        return sizes
    }

    /// `16 B`, `1 KiB`, `16 KiB`, `1 MiB`, or plain bytes when not a whole unit.
    static func label(_ size: Int) -> String {
        if size >= 1 << 20, size % (1 << 20) == 0 { return "\(size >> 20) MiB" }
        if size >= 1 << 10, size % (1 << 10) == 0 { return "\(size >> 10) KiB" }
        return "\(size) B"
    }
}
