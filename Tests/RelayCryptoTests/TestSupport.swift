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

/// The contract's vector files, copied into this test target (`Vectors/`, a bundle
/// resource) so that the repository is self-contained.
enum TestVectors {
    struct Missing: Error, CustomStringConvertible {
        let name: String
        var description: String { "vector file \(name) is not in the test bundle (Tests/RelayCryptoTests/Vectors)" }
    }

    /// The contents of `Vectors/NAME` (e.g. `seal-v1.json`).
    static func data(named name: String) throws -> Data {
        let url = URL(fileURLWithPath: name)
        guard let resource = Bundle.module.url(
            forResource: url.deletingPathExtension().lastPathComponent, withExtension: url.pathExtension,
            subdirectory: "Vectors")
        else { throw Missing(name: name) }
        return try Data(contentsOf: resource)
    }
}

/// Deterministic pseudo-random bytes (SplitMix64): distinct content per length and seed,
/// and a failing case reproduces exactly.
enum TestBytes {
    static func make(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(count)
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z.littleEndian) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }
}

/// Byte comparison with a short failure message (a failed `==` on a 1 MiB array prints
/// every byte): nil when equal, otherwise the lengths and the first differing offset.
enum ByteDiff {
    static func between(_ actual: [UInt8]?, _ expected: [UInt8]) -> String? {
        guard let actual else { return "nothing, expected \(expected.count) bytes" }
        if actual == expected { return nil }
        let first = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(actual.count, expected.count)
        return "\(actual.count) bytes, expected \(expected.count); first difference at offset \(first)"
    }
}
