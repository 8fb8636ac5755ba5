import COpenSSL
import Foundation

/// Runs every operation at every size with all implementations interleaved: each
/// round samples ours and each baseline in turn (rotating who goes first), so
/// noise from other processes hits all of them alike; the best sample of each counts.
struct BenchmarkRunner {
    let settings: MeasurementSettings
    let sizes: [Int]
    let progress: Bool

    /// Where the Python comparison is made (the issue's figure is for 64 B seals).
    static let pythonSize = 64

    func run(includePython: Bool) -> Report {
        let started = Date()
        var results: [CaseResult] = []
        for size in sizes {
            let workload = Workload(size: size)
            for operation in Operation.allCases {
                report("\(operation.rawValue) \(MessageSizes.label(size))")
                results.append(measure(operation, workload))
            }
        }
        report("agreement")
        let agreement = measureAgreement()
        var python: PythonBaseline.Result?
        var pythonNote: String?
        if includePython {
            report("python cryptography seal \(Self.pythonSize) B")
            (python, pythonNote) = PythonBaseline.measure(size: Self.pythonSize, settings: settings)
        } else {
            pythonNote = "Python baseline skipped (--no-python)"
        }
        report(nil)
        return Report(
            date: ISO8601DateFormatter().string(from: started),
            system: SystemInfo.current(openSSL: String(cString: OpenSSL_version(OPENSSL_VERSION))),
            swiftCryptoVersion: SwiftCryptoBaseline.version,
            settings: settings,
            results: results,
            agreement: agreement,
            python: python,
            pythonNote: pythonNote,
            targets: TargetCheck.evaluate(results, python: python))
    }

    private func measure(_ operation: Operation, _ workload: Workload) -> CaseResult {
        let implementations = Implementation.allCases
        let cases = implementations.map { TimedCase(workload.batch(operation, by: $0), clock: settings.clock) }
        for timed in cases { timed.warmUp(settings) }
        for round in 0..<settings.rounds {
            for index in cases.indices {
                cases[(index + round) % cases.count].sample(seconds: settings.sampleSeconds)
            }
        }
        let rates = Dictionary(uniqueKeysWithValues: zip(implementations, cases.map(\.bestRate)))
        return CaseResult(operation: operation, size: workload.size, rates: rates)
    }

    /// Agreements per second, the implementations interleaved as for the sized cases.
    private func measureAgreement() -> AgreementResult {
        let workload = AgreementWorkload()
        let implementations = Implementation.allCases
        let cases = implementations.map { TimedCase(workload.batch(by: $0), clock: settings.clock) }
        for timed in cases { timed.warmUp(settings) }
        for round in 0..<settings.rounds {
            for index in cases.indices {
                cases[(index + round) % cases.count].sample(seconds: settings.sampleSeconds)
            }
        }
        let rates = Dictionary(uniqueKeysWithValues: zip(implementations, cases.map(\.bestRate)))
        return AgreementResult(ours: rates[.ours] ?? 0, rawEVP: rates[.rawEVP] ?? 0, swiftCrypto: rates[.swiftCrypto] ?? 0)
    }

    /// Shows the current step on a terminal's stderr; nil clears the line.
    private func report(_ step: String?) {
        guard progress, isatty(STDERR_FILENO) != 0 else { return }
        FileHandle.standardError.write(Data("\u{1B}[2K\r\(step.map { "measuring \($0)…" } ?? "")".utf8))
    }
}
