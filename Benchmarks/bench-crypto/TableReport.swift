/// The human-readable form of a `Report`: one table per operation, then the targets.
enum TableReport {
    static func render(_ report: Report) -> String {
        let system = report.system
        let extensions = [system.aesNI ? "AES-NI" : nil, system.shaNI ? "SHA-NI" : nil].compactMap { $0 }
        var lines = [
            "bench-crypto \(report.date)",
            "CPU: \(system.cpuModel), \(system.logicalCPUs) logical CPUs"
                + (extensions.isEmpty ? "" : ", \(extensions.joined(separator: ", "))"),
            "\(system.openSSL); swift-crypto \(report.swiftCryptoVersion)",
            "Best of \(report.settings.rounds) interleaved samples of ≥ \(report.settings.sampleSeconds) s each "
                + "(\(report.settings.clock == .monotonic ? "CLOCK_MONOTONIC" : "thread CPU time")); "
                + "MB = 10^6 plaintext bytes; ratios are of messages/s.",
            "raw EVP: reused EVP contexts, preallocated buffers, fixed IV, no allocation (the hardware limit).",
            "swift-crypto: _CryptoExtras AES._CBC (seal/open: AES._CBC + Crypto HMAC<SHA256>), fixed IV.",
        ]
        for operation in Operation.allCases {
            let results = report.results.filter { $0.operation == operation }
            guard !results.isEmpty else { continue }
            lines += ["", heading(operation)] + table(results)
        }
        if let agreement = report.agreement { lines += ["", agreementLine(agreement)] }
        lines += ["", pythonLine(report)]
        lines += ["", "Targets (issue 7):"]
        for check in report.targets {
            let verdict = check.met.map { $0 ? "met   " : "MISSED" } ?? "n/a   "
            lines.append("  [\(verdict)] \(check.target): \(check.measured)")
        }
        return lines.joined(separator: "\n")
    }

    private static func heading(_ operation: Operation) -> String {
        switch operation {
        case .encrypt: "encrypt: AESCBCCipher.encrypt (GPUCrypto), fresh IV, returns iv | ciphertext"
        case .decrypt: "decrypt: AESCBCCipher.decrypt of iv | ciphertext"
        case .seal: "seal: AuthenticatedCipher.seal, fresh IV, AES-256-CBC then HMAC-SHA256"
        case .open: "open: AuthenticatedCipher.open, constant-time tag check, then decryption"
        case .recordSeal: "record seal: E2ERecordSealer.seal (PROTOCOL.md 7.3), fresh IV, kind byte + content"
        case .recordOpen: "record open: E2ERecordOpener.open, constant-time tag check, then decryption"
        }
    }

    private static let columns: [(title: String, width: Int)] = [
        ("size", 8), ("ours msg/s", 11), ("MB/s", 8),
        ("raw EVP msg/s", 14), ("MB/s", 8), ("ours/raw", 9),
        ("swift-crypto msg/s", 19), ("MB/s", 8), ("ours/s-c", 9),
    ]

    private static func table(_ results: [CaseResult]) -> [String] {
        let header = columns.enumerated().map { index, column in
            index == 0 ? Format.padRight(column.title, column.width) : Format.padLeft(column.title, column.width)
        }
        let rows = results.map { result -> [String] in
            [
                MessageSizes.label(result.size),
                Format.rate(result.ours.messagesPerSecond), Format.significant(result.ours.megabytesPerSecond),
                Format.rate(result.rawEVP.messagesPerSecond), Format.significant(result.rawEVP.megabytesPerSecond),
                Format.ratio(result.oursOverRawEVP),
                Format.rate(result.swiftCrypto.messagesPerSecond),
                Format.significant(result.swiftCrypto.megabytesPerSecond),
                Format.ratio(result.oursOverSwiftCrypto),
            ]
        }
        return ["  " + header.joined()] + rows.map { row in
            "  " + row.enumerated().map { index, cell in
                index == 0 ? Format.padRight(cell, columns[index].width) : Format.padLeft(cell, columns[index].width)
            }.joined()
        }
    }

    private static func agreementLine(_ agreement: AgreementResult) -> String {
        "agreement (X25519 keygen + derive + T + HKDF key schedule, PROTOCOL.md 7.2): "
            + "ours \(Format.rate(agreement.ours))/s, raw EVP \(Format.rate(agreement.rawEVP))/s "
            + "(ours/raw \(Format.ratio(agreement.ours / agreement.rawEVP))), "
            + "swift-crypto \(Format.rate(agreement.swiftCrypto))/s (ours/s-c \(Format.ratio(agreement.ours / agreement.swiftCrypto)))"
    }

    private static func pythonLine(_ report: Report) -> String {
        guard let python = report.python else {
            return "Python: \(report.pythonNote ?? "not measured")"
        }
        var line = "Python \(python.pythonVersion) cryptography \(python.cryptographyVersion): "
            + "\(Format.rate(python.sealsPerSecond)) seals/s at \(MessageSizes.label(python.size))"
        if let ours = report.result(.seal, size: python.size) {
            line += "; ours \(Format.rate(ours.ours.messagesPerSecond)) = "
                + "\(Format.ratio(ours.ours.messagesPerSecond / python.sealsPerSecond)) that"
        }
        return line
    }
}
