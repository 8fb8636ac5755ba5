@testable import RelayCrypto

/// Builds messages by hand from the keys PROTOCOL.md section 3 derives, with a correct tag
/// over whatever bytes a test chooses. A forged message fails `open` only through the one
/// check the test aims at (block alignment, version, padding), never through the tag.
struct MessageForger {
    let sessionKey: [UInt8]
    let encKey: [UInt8]
    let macKey: [UInt8]

    init(sessionKey: [UInt8]) {
        self.sessionKey = sessionKey
        // The info strings spelled out from the protocol text, not taken from the code under test.
        encKey = HKDF.deriveKey(inputKeyMaterial: sessionKey, info: Array("relay v1 aes-256-cbc".utf8), outputByteCount: 32)
        macKey = HKDF.deriveKey(inputKeyMaterial: sessionKey, info: Array("relay v1 hmac-sha256".utf8), outputByteCount: 32)
    }

    /// `version | iv | ciphertext | HMAC-SHA256(macKey, version | iv | ciphertext)`.
    func tagged(version: UInt8 = 0x01, iv: [UInt8], ciphertext: [UInt8]) -> [UInt8] {
        let authenticated = [version] + iv + ciphertext
        return authenticated + HMACSHA256(key: macKey).authenticationCode(for: authenticated)
    }

    /// Raw CBC under `encKey`, no padding added: `blocks` must be whole blocks. PKCS7 over
    /// whole blocks appends one block of its own; everything before it is the raw encryption.
    func encryptWithoutPadding(_ blocks: [UInt8], iv: [UInt8]) throws -> [UInt8] {
        try Self.encryptWithoutPadding(blocks, key: encKey, iv: iv)
    }

    /// Raw CBC under any 32-byte `key` (the legacy form uses the session key itself).
    static func encryptWithoutPadding(_ blocks: [UInt8], key: [UInt8], iv: [UInt8]) throws -> [UInt8] {
        precondition(blocks.count % 16 == 0)
        let message = try AESCBCCipher(key: key).encrypt(blocks, iv: iv)
        return Array(message[16..<(16 + blocks.count)])
    }
}
