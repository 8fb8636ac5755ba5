/// One target of issue 7, checked against this run's figures.
struct TargetCheck: Codable {
    var target: String
    /// What was measured, with the figures the verdict rests on.
    var measured: String
    /// nil when the run did not measure what the target needs (e.g. `--sizes` left it out).
    var met: Bool?

    /// `met` is written as `null`, not left out, when the run could not judge.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(measured, forKey: .measured)
        try container.encode(met, forKey: .met)
    }

    /// The reference when Python cannot be run here: about 75 thousand seals/s at 64 B.
    static let referencePythonSealsPerSecond = 75_000.0

    static func evaluate(_ results: [CaseResult], python: PythonBaseline.Result?) -> [TargetCheck] {
        func find(_ operation: Operation, _ size: Int) -> CaseResult? {
            results.first { $0.operation == operation && $0.size == size }
        }
        var checks: [TargetCheck] = []

        func versusRaw(_ operation: Operation, _ size: Int, atLeast fraction: Double) {
            let target = "\(operation.rawValue) at \(MessageSizes.label(size)) ≥ \(percent(fraction)) of raw EVP"
            guard let result = find(operation, size) else {
                checks.append(TargetCheck(target: target, measured: "not measured", met: nil))
                return
            }
            checks.append(TargetCheck(
                target: target,
                measured: "\(percent(result.oursOverRawEVP)) (\(Format.rate(result.ours.messagesPerSecond)) vs "
                    + "\(Format.rate(result.rawEVP.messagesPerSecond)) msg/s)",
                met: result.oursOverRawEVP >= fraction))
        }
        for operation in [Operation.encrypt, .decrypt] {
            for size in [16 << 10, 1 << 20] { versusRaw(operation, size, atLeast: 0.9) }
        }
        for operation in [Operation.seal, .open] {
            versusRaw(operation, 64, atLeast: 0.5)
            let large = Set(results.map(\.size).filter { $0 >= 16 << 10 } + [16 << 10]).sorted()
            for size in large { versusRaw(operation, size, atLeast: 0.9) }
        }

        let seal64 = find(.seal, 64)
        if let python {
            checks.append(TargetCheck(
                target: "seal at 64 B ≥ 20× Python cryptography \(python.cryptographyVersion)",
                measured: seal64.map {
                    "\(Format.ratio($0.ours.messagesPerSecond / python.sealsPerSecond)) "
                        + "(\(Format.rate($0.ours.messagesPerSecond)) vs \(Format.rate(python.sealsPerSecond)) seals/s)"
                } ?? "not measured",
                met: seal64.map { $0.ours.messagesPerSecond >= 20 * python.sealsPerSecond }))
        }
        let reference = 20 * referencePythonSealsPerSecond
        checks.append(TargetCheck(
            target: "seal at 64 B ≥ \(Format.rate(reference))/s (20× the issue's 75 k/s)",
            measured: seal64.map { "\(Format.rate($0.ours.messagesPerSecond)) seals/s" } ?? "not measured",
            met: seal64.map { $0.ours.messagesPerSecond >= reference }))

        for operation in [Operation.encrypt, .decrypt] {
            let measured = results.filter { $0.operation == operation }
            let slowest = measured.min { $0.oursOverSwiftCrypto < $1.oursOverSwiftCrypto }
            checks.append(TargetCheck(
                target: "\(operation.rawValue) faster than swift-crypto \(SwiftCryptoBaseline.version) AES._CBC at every size",
                measured: slowest.map {
                    "lowest \(Format.ratio($0.oursOverSwiftCrypto)) at \(MessageSizes.label($0.size))"
                } ?? "not measured",
                met: slowest.map { $0.oursOverSwiftCrypto > 1 }))
        }
        return checks
    }

    private static func percent(_ fraction: Double) -> String {
        "\(Int((fraction * 100).rounded()))%"
    }
}
