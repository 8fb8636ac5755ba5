import Foundation

/// Hex helpers for the vector tests.
enum Hex {
    struct InvalidHex: Error, CustomStringConvertible {
        let text: String
        var description: String { "not hex: \(text.prefix(40))" }
    }

    static func decode(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw InvalidHex(text: text) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(of: digits[index]), let low = value(of: digits[index + 1]) else {
                throw InvalidHex(text: text)
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

enum TestVectors {
    /// `shared/vectors/` beside the repository (the contract's vectors), overridable with
    /// `RELAY_SHARED_DIR`.
    static var sharedVectorsURL: URL {
        if let dir = ProcessInfo.processInfo.environment["RELAY_SHARED_DIR"] {
            return URL(fileURLWithPath: dir).appendingPathComponent("vectors")
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors")
    }

    /// The repository root, found from this file's path.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // RelayCryptoTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repository
    }
}
