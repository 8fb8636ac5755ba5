import Testing
@testable import RelayCrypto

/// NIST SP 800-38A, appendix F.2.5 (CBC-AES256.Encrypt) and F.2.6 (CBC-AES256.Decrypt).
///
/// The NIST vectors are four whole blocks with no padding, while our CBC layer always
/// applies PKCS7. For a plaintext of whole blocks PKCS7 appends one block of sixteen
/// 0x10 bytes, so the first four ciphertext blocks must be NIST's exactly, and one more
/// block, `AES(K, C4 xor 10...10)`, follows.
struct NISTAESCBCVectorTests {
    static let key = try! Hex.decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    static let iv = try! Hex.decode("000102030405060708090a0b0c0d0e0f")
    static let plaintextBlocks = [
        "6bc1bee22e409f96e93d7e117393172a",
        "ae2d8a571e03ac9c9eb76fac45af8e51",
        "30c81c46a35ce411e5fbc1191a0a52ef",
        "f69f2445df4f9b17ad2b417be66c3710",
    ]
    static let ciphertextBlocks = [
        "f58c4c04d6e5f1ba779eabfb5f7bfbd6",
        "9cfc4e967edb808d679f777bc6702c7d",
        "39f23369a9d9bacfa530e26304231461",
        "b2eb05e2c39be9fcda6c19078c6a9d1b",
    ]
    /// Not part of SP 800-38A: the PKCS7 block after F.2.5's four, `AES(K, C4 xor 10...10)`,
    /// computed with Python's `cryptography` 48 (and found in other projects' tests).
    static let paddingBlock = "3f461796d6b0d6b2e0c2a72b4d80e644"

    static var plaintext: [UInt8] { try! Hex.decode(plaintextBlocks.joined()) }
    static var ciphertext: [UInt8] { try! Hex.decode(ciphertextBlocks.joined()) }

    /// Runs the block layer (`AESCBCContexts`) directly on `input` with NIST's key and IV.
    static func encryptWithContexts(_ input: [UInt8]) -> [UInt8] {
        let contexts = key.withUnsafeBytes { AESCBCContexts(key: $0) }
        var output = [UInt8](repeating: 0, count: AESCBCContexts.ciphertextCount(plaintextCount: input.count))
        let written = input.withUnsafeBytes { plain in
            iv.withUnsafeBytes { ivBytes in
                output.withUnsafeMutableBytes { contexts.encrypt(plain, iv: ivBytes.baseAddress!, into: $0.baseAddress!) }
            }
        }
        #expect(written == output.count)
        return output
    }

    @Test("F.2.5: the block layer's first four blocks are NIST's, then the PKCS7 block")
    func f25EncryptBlockLayer() {
        let output = Self.encryptWithContexts(Self.plaintext)
        #expect(output.count == 80)
        #expect(Hex.encode(output.prefix(64)) == Self.ciphertextBlocks.joined())
        #expect(Hex.encode(output.suffix(16)) == Self.paddingBlock)
    }

    @Test("F.2.5: each prefix of k plaintext blocks gives NIST's first k ciphertext blocks")
    func f25EncryptEveryBlockPrefix() {
        for blocks in 1...4 {
            let output = Self.encryptWithContexts(Array(Self.plaintext.prefix(16 * blocks)))
            #expect(Hex.encode(output.prefix(16 * blocks)) == Self.ciphertextBlocks.prefix(blocks).joined(),
                    "\(blocks) block(s)")
        }
    }

    @Test("F.2.5 through AESCBCCipher: iv | NIST ciphertext | padding block")
    func f25EncryptThroughCipher() throws {
        let cipher = try AESCBCCipher(key: Self.key)
        let message = cipher.encrypt(Self.plaintext, iv: Self.iv)
        #expect(Hex.encode(message) == Hex.encode(Self.iv) + Self.ciphertextBlocks.joined() + Self.paddingBlock)
    }

    @Test("F.2.6: the block layer decrypts NIST's ciphertext (plus the PKCS7 block) to NIST's plaintext")
    func f26DecryptBlockLayer() throws {
        let contexts = Self.key.withUnsafeBytes { AESCBCContexts(key: $0) }
        let input = Self.ciphertext + (try Hex.decode(Self.paddingBlock))
        var output = [UInt8](repeating: 0, count: input.count)
        let written = input.withUnsafeBytes { cipherBytes in
            Self.iv.withUnsafeBytes { ivBytes in
                output.withUnsafeMutableBytes { contexts.decrypt(cipherBytes, iv: ivBytes.baseAddress!, into: $0.baseAddress!) }
            }
        }
        #expect(written == 64)
        #expect(Hex.encode(output.prefix(64)) == Self.plaintextBlocks.joined())
    }

    @Test("F.2.6 through AESCBCCipher.decrypt")
    func f26DecryptThroughCipher() throws {
        let cipher = try AESCBCCipher(key: Self.key)
        let plaintext = try cipher.decrypt(Self.iv + Self.ciphertext + Hex.decode(Self.paddingBlock))
        #expect(Hex.encode(plaintext) == Self.plaintextBlocks.joined())
    }

    @Test("F.2.6 without the padding block: NIST's last block is not valid PKCS7, so decrypt refuses it")
    func f26UnpaddedCiphertextIsRefused() throws {
        let cipher = try AESCBCCipher(key: Self.key)
        #expect(throws: CryptoError.decryptionFailed) { try cipher.decrypt(Self.iv + Self.ciphertext) }
    }
}
