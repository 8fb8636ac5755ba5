import Foundation

/// Throughput of one implementation; MB are 10^6 bytes of plaintext.
struct Rate: Codable {
    var messagesPerSecond: Double
    var megabytesPerSecond: Double

    init(messagesPerSecond: Double, size: Int) {
        self.messagesPerSecond = messagesPerSecond
        megabytesPerSecond = messagesPerSecond * Double(size) / 1e6
    }
}

/// One operation at one size: ours and the baselines, measured interleaved.
struct CaseResult: Codable {
    var operation: Operation
    var size: Int
    var ours: Rate
    var rawEVP: Rate
    var swiftCrypto: Rate
    /// Messages/s of ours divided by those of the baseline.
    var oursOverRawEVP: Double
    var oursOverSwiftCrypto: Double

    init(operation: Operation, size: Int, rates: [Implementation: Double]) {
        self.operation = operation
        self.size = size
        ours = Rate(messagesPerSecond: rates[.ours]!, size: size)
        rawEVP = Rate(messagesPerSecond: rates[.rawEVP]!, size: size)
        swiftCrypto = Rate(messagesPerSecond: rates[.swiftCrypto]!, size: size)
        oursOverRawEVP = ours.messagesPerSecond / rawEVP.messagesPerSecond
        oursOverSwiftCrypto = ours.messagesPerSecond / swiftCrypto.messagesPerSecond
    }
}

/// Everything one run measured, and where.
struct Report: Codable {
    var date: String
    var system: SystemInfo
    var swiftCryptoVersion: String
    var settings: MeasurementSettings
    var results: [CaseResult]
    /// Whole agreements per second (not per size).
    var agreement: AgreementResult?
    var python: PythonBaseline.Result?
    var pythonNote: String?
    var targets: [TargetCheck]

    func result(_ operation: Operation, size: Int) -> CaseResult? {
        results.first { $0.operation == operation && $0.size == size }
    }
}

/// The machine and library the figures belong to.
struct SystemInfo: Codable {
    var cpuModel: String
    var logicalCPUs: Int
    var aesNI: Bool
    var shaNI: Bool
    var openSSL: String

    static func current(openSSL: String) -> SystemInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            cpuinfo.split(separator: "\n").first { $0.hasPrefix(name) }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        return SystemInfo(
            cpuModel: field("model name") ?? "unknown",
            logicalCPUs: ProcessInfo.processInfo.activeProcessorCount,
            aesNI: flags.contains("aes"), shaNI: flags.contains("sha_ni"), openSSL: openSSL)
    }
}
