import RelayCrypto

/// Room codes (PROTOCOL.md section 6): what users pass on, and the room bytes a
/// version 2 HELLO carries, the first 16 bytes of SHA-256("relay room v2:" | code).
public enum RoomCode {
    /// The room bytes for `code` (UTF-8).
    public static func room(for code: String) -> [UInt8] {
        Array(SHA256Hash.hash(Array("relay room v2:".utf8) + Array(code.utf8)).prefix(16))
    }

    /// Crockford's base 32 without I, L, O, U: no two symbols look alike.
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// A random code of 14 symbols (70 bits) from the CSPRNG, in groups of four:
    /// `7K3M-QX9P-T2WD-8H`.
    public static func random() -> String {
        var bytes = SecureRandom.bytes(count: 14)
        defer { bytes.withUnsafeMutableBytes { SecureMemory.wipe($0) } }
        var code = ""
        for (index, byte) in bytes.enumerated() {
            if index > 0, index % 4 == 0 { code.append("-") }
            code.append(alphabet[Int(byte & 0x1F)])  // 32 divides 256: no bias
        }
        return code
    }
}
