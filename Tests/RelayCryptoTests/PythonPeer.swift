import Foundation

/// Runs `Interop/peer.py`, an implementation of PROTOCOL.md section 3 over Python's
/// `cryptography` package that shares no code with ours. Requests and answers go through
/// files (no pipe can fill up), and a peer that hangs is killed after `timeout` seconds.
enum PythonPeer {
    enum Form: String, Sendable {
        case v1, legacy
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let timeout: TimeInterval = 30

    static var scriptURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/peer.py")
    }

    /// True when `python3 -c 'import cryptography'` succeeds. When it fails, the interop
    /// tests are skipped, and this says so loudly on standard error.
    static let isAvailable: Bool = {
        let available = (try? run(["python3", "-c", "import cryptography"]).status) == 0
        if !available {
            FileHandle.standardError.write(Data("""
                ************************************************************************
                WARNING: python3 with the `cryptography` package is not available, so the
                interoperability tests against an independent implementation are SKIPPED.
                ************************************************************************\n
                """.utf8))
        }
        return available
    }()

    /// Python seals (or, for `.legacy`, encrypts) each plaintext under `key`.
    static func seal(_ plaintexts: [[UInt8]], key: [UInt8], form: Form) throws -> [[UInt8]] {
        let answer = try exchange("seal", Request(form: form.rawValue, key: Hex.encode(key),
                                                  plaintexts: plaintexts.map(Hex.encode), messages: nil))
        guard let messages = answer.messages, messages.count == plaintexts.count else {
            throw Failure(description: "peer.py seal answered \(answer)")
        }
        return try messages.map(Hex.decode)
    }

    /// Python opens each message under `key`; nil where it refused the message.
    static func open(_ messages: [[UInt8]], key: [UInt8], form: Form) throws -> [[UInt8]?] {
        let answer = try exchange("open", Request(form: form.rawValue, key: Hex.encode(key),
                                                  plaintexts: nil, messages: messages.map(Hex.encode)))
        guard let plaintexts = answer.plaintexts, plaintexts.count == messages.count else {
            throw Failure(description: "peer.py open answered \(answer)")
        }
        return try plaintexts.map { try $0.map(Hex.decode) }
    }

    private struct Request: Encodable {
        let form: String
        let key: String
        let plaintexts: [String]?
        let messages: [String]?
    }

    private struct Answer: Decodable {
        let messages: [String]?
        let plaintexts: [String?]?
    }

    private static func exchange(_ command: String, _ request: Request) throws -> Answer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relay-crypto-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let requestURL = directory.appendingPathComponent("request.json")
        try JSONEncoder().encode(request).write(to: requestURL)
        let result = try run(["python3", scriptURL.path, command, requestURL.path], in: directory)
        guard result.status == 0 else {
            throw Failure(description: "peer.py \(command) exited with \(result.status): \(result.standardError)")
        }
        return try JSONDecoder().decode(Answer.self, from: result.standardOutput)
    }

    private struct Outcome {
        let status: Int32
        let standardOutput: Data
        let standardError: String
    }

    /// Runs `arguments` through `/usr/bin/env`, output to files, killed after `timeout`.
    private static func run(_ arguments: [String], in directory: URL? = nil) throws -> Outcome {
        let scratch = directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("relay-crypto-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: scratch) } }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil)
        else { throw Failure(description: "cannot create output files in \(scratch.path)") }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            exited.wait()
            throw Failure(description: "\(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        return Outcome(
            status: process.terminationStatus,
            standardOutput: try Data(contentsOf: outURL),
            standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
