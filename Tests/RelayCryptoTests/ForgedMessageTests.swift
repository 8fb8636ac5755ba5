import Testing
@testable import RelayCrypto

/// Messages with a correct tag that must still be refused: each aims at one check of
/// PROTOCOL.md section 3 other than the tag. Each test also opens a well-formed forgery
/// built the same way, so a forger that got the tag wrong could not pass unnoticed.
struct ForgedMessageTests {
    let forger = MessageForger(sessionKey: TestBytes.make(count: 32, seed: 0xF0))
    let iv = TestBytes.make(count: 16, seed: 0x1F)

    func opener() throws -> AuthenticatedCipher {
        try AuthenticatedCipher(sessionKey: forger.sessionKey)
    }

    @Test("The forger's well-formed messages open: its keys and tags are right")
    func wellFormedForgeryOpens() throws {
        let cipher = try opener()
        for count in [0, 1, 15, 16, 17, 100] {
            let plaintext = TestBytes.make(count: count, seed: UInt64(count))
            let ciphertext = Array(try AESCBCCipher(key: forger.encKey).encrypt(plaintext, iv: iv).dropFirst(16))
            let forged = forger.tagged(iv: iv, ciphertext: ciphertext)
            #expect(try cipher.open(forged) == plaintext, "\(count) bytes")
            #expect(forged == cipher.seal(plaintext, iv: iv), "\(count) bytes")
        }
    }

    /// Below 16 bytes of ciphertext the message is also under the minimum length; from 17
    /// on, version and tag are right and only the block-alignment check stands in the way.
    @Test("Ciphertext length not a multiple of 16, correctly tagged: refused")
    func ciphertextNotWholeBlocks() throws {
        let cipher = try opener()
        let blocks = TestBytes.make(count: 96, seed: 7)
        for count in 1...96 where count % 16 != 0 {
            let forged = forger.tagged(iv: iv, ciphertext: Array(blocks.prefix(count)))
            #expect(throws: OpenError.authenticationFailed, "ciphertext of \(count) bytes") { try cipher.open(forged) }
        }
    }

    @Test("Every version byte other than 0x01, correctly tagged: refused")
    func wrongVersionCorrectlyTagged() throws {
        let cipher = try opener()
        let ciphertext = Array(try AESCBCCipher(key: forger.encKey).encrypt(Array("hello".utf8), iv: iv).dropFirst(16))
        #expect(try cipher.open(forger.tagged(version: 0x01, iv: iv, ciphertext: ciphertext)) == Array("hello".utf8))
        for version in UInt8.min...UInt8.max where version != 0x01 {
            let forged = forger.tagged(version: version, iv: iv, ciphertext: ciphertext)
            #expect(throws: OpenError.authenticationFailed, "version \(version)") { try cipher.open(forged) }
        }
    }

    /// Last plaintext blocks whose PKCS7 padding is wrong, each with a plain reason.
    static let badPaddingBlocks: [(String, [UInt8])] = {
        var cases: [(String, [UInt8])] = [("last byte 0x00", [UInt8](repeating: 0x41, count: 15) + [0x00])]
        for last in [UInt8(0x11), 0x20, 0x80, 0xFF] {
            cases.append(("last byte \(last), above 16", [UInt8](repeating: last, count: 16)))
        }
        for length in UInt8(2)...16 {
            // `length` bytes of padding announced, but the first of them is wrong.
            var block = [UInt8](repeating: 0x41, count: 16 - Int(length)) + [UInt8](repeating: length, count: Int(length))
            block[16 - Int(length)] ^= 0x01
            cases.append(("padding \(length) with a wrong first byte", block))
        }
        return cases
    }()

    @Test("Correct tag, bad padding (one and three blocks): refused")
    func badPaddingCorrectlyTagged() throws {
        let cipher = try opener()
        let leading = TestBytes.make(count: 32, seed: 9)
        for (reason, last) in Self.badPaddingBlocks {
            for blocks in [last, leading + last] {
                let forged = forger.tagged(iv: iv, ciphertext: try forger.encryptWithoutPadding(blocks, iv: iv))
                #expect(throws: OpenError.authenticationFailed, "\(reason), \(blocks.count) bytes") { try cipher.open(forged) }
            }
        }
    }

    @Test("Control for the padding test: every valid padding 1...16 built the same way opens")
    func validPaddingCorrectlyTaggedOpens() throws {
        let cipher = try opener()
        for length in 1...16 {
            let content = TestBytes.make(count: 16 - length, seed: UInt64(length))
            let block = content + [UInt8](repeating: UInt8(length), count: length)
            let forged = forger.tagged(iv: iv, ciphertext: try forger.encryptWithoutPadding(block, iv: iv))
            #expect(try cipher.open(forged) == content, "padding \(length)")
        }
    }
}
