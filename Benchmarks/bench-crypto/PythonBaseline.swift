import Foundation

/// The original implementation's cost: a sealed message built with Python's
/// `cryptography` package the way the original relay did it (a fresh `os.urandom` IV,
/// PKCS7 padder, AES-CBC encryptor and HMAC object per message), timed by Python itself.
enum PythonBaseline {
    struct Result: Codable {
        var cryptographyVersion: String
        var pythonVersion: String
        var size: Int
        var sealsPerSecond: Double
    }

    /// Runs the script; returns nil and a reason when python3 or the package is missing.
    static func measure(size: Int, settings: MeasurementSettings) -> (result: Result?, note: String?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", script, String(size),
            String(settings.pythonSeconds), String(settings.pythonRepetitions),
            settings.clock == .monotonic ? "wall" : "cpu",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return (nil, "python3 could not be started: \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return (nil, "python3 is not available (exit status \(process.terminationStatus))")
        }
        if let result = try? JSONDecoder().decode(Result.self, from: data) { return (result, nil) }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (nil, "Python baseline skipped: \(text.isEmpty ? "no output" : text)")
    }

    private static let script = """
        import json, os, sys, time
        try:
            import cryptography
            from cryptography.hazmat.primitives import hashes, hmac, padding
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        except ImportError as error:
            print("cannot import cryptography: %s" % error)
            sys.exit(0)

        size, seconds, repetitions = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
        clock = time.perf_counter if sys.argv[4] == "wall" else time.thread_time
        enc_key, mac_key, plaintext = os.urandom(32), os.urandom(32), os.urandom(size)

        def seal(data):
            iv = os.urandom(16)
            padder = padding.PKCS7(128).padder()
            padded = padder.update(data) + padder.finalize()
            encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
            body = b"\\x01" + iv + encryptor.update(padded) + encryptor.finalize()
            tag = hmac.HMAC(mac_key, hashes.SHA256())
            tag.update(body)
            return body + tag.finalize()

        def rate(duration):
            count, start = 0, clock()
            while True:
                for _ in range(200):
                    seal(plaintext)
                count += 200
                elapsed = clock() - start
                if elapsed >= duration:
                    return count / elapsed

        rate(seconds / 4)
        best = max(rate(seconds) for _ in range(repetitions))
        print(json.dumps({"cryptographyVersion": cryptography.__version__,
                          "pythonVersion": sys.version.split()[0],
                          "size": size, "sealsPerSecond": best}))
        """
}
