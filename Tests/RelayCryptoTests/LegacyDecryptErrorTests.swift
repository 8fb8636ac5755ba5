import Testing
@testable import RelayCrypto

/// The unauthenticated form cannot detect tampering, but what it cannot decrypt (too short,
/// not whole blocks, bad padding) fails with its one error, `CryptoError.decryptionFailed`.
struct LegacyDecryptErrorTests {
    let key = TestBytes.make(count: 32, seed: 0xB1)

    @Test("Shorter than an IV and one block, or not whole blocks after the IV")
    func wrongLengths() throws {
        let cipher = try AESCBCCipher(key: key)
        for count in 0...80 where count < 32 || (count - 16) % 16 != 0 {
            #expect(throws: CryptoError.decryptionFailed, "\(count) bytes") {
                try cipher.decrypt(TestBytes.make(count: count, seed: 2))
            }
        }
    }

    @Test("Bad padding in the last block")
    func badPadding() throws {
        let iv = TestBytes.make(count: 16, seed: 5)
        let cipher = try AESCBCCipher(key: key)
        for (reason, block) in ForgedMessageTests.badPaddingBlocks {
            let message = iv + (try MessageForger.encryptWithoutPadding(block, key: key, iv: iv))
            #expect(throws: CryptoError.decryptionFailed, "\(reason)") { try cipher.decrypt(message) }
        }
        // Control: the same construction with valid padding decrypts.
        let valid = [UInt8](repeating: 0x41, count: 12) + [4, 4, 4, 4]
        #expect(try cipher.decrypt(iv + MessageForger.encryptWithoutPadding(valid, key: key, iv: iv)) == Array(valid.prefix(12)))
    }
}
