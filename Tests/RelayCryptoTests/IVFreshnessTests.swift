import Testing
@testable import RelayCrypto

/// Every message gets a fresh IV: encrypting one plaintext twice gives two different
/// messages, and no IV repeats across many messages (IVs come from bulk CSPRNG draws of
/// 256 IVs each, so this crosses several refills).
struct IVFreshnessTests {
    let key = TestBytes.make(count: 32, seed: 0xD1)
    let plaintext = Array("the same plaintext, again and again".utf8)

    @Test("GPUCrypto form: two encryptions of one plaintext differ, first in their IVs")
    func legacyTwiceDiffers() throws {
        let cipher = try AESCBCCipher(key: key)
        let first = cipher.encrypt(plaintext)
        let second = cipher.encrypt(plaintext)
        #expect(first != second)
        #expect(first.prefix(16) != second.prefix(16))
        #expect(try cipher.decrypt(first) == cipher.decrypt(second))
    }

    @Test("Sealed form: two seals of one plaintext differ, in their IVs, ciphertexts and tags")
    func sealedTwiceDiffers() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let first = cipher.seal(plaintext)
        let second = cipher.seal(plaintext)
        #expect(first[1..<17] != second[1..<17])
        #expect(first[17..<(first.count - 32)] != second[17..<(second.count - 32)])
        #expect(first.suffix(32) != second.suffix(32))
        #expect(try cipher.open(first) == cipher.open(second))
    }

    @Test("With the IV fixed, sealing is deterministic: the difference above is the IV's")
    func fixedIVIsDeterministic() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let iv = TestBytes.make(count: 16, seed: 6)
        #expect(cipher.seal(plaintext, iv: iv) == cipher.seal(plaintext, iv: iv))
        let legacy = try AESCBCCipher(key: key)
        #expect(legacy.encrypt(plaintext, iv: iv) == legacy.encrypt(plaintext, iv: iv))
    }

    @Test("No IV repeats across 2,000 messages of each form, and none is all zeros")
    func noRepeatedIVs() throws {
        let sealer = try AuthenticatedCipher(sessionKey: key)
        let legacy = try AESCBCCipher(key: key)
        var ivs = Set<[UInt8]>()
        for _ in 0..<2_000 {
            ivs.insert(Array(sealer.seal(plaintext)[1..<17]))
            ivs.insert(Array(legacy.encrypt(plaintext).prefix(16)))
        }
        #expect(ivs.count == 4_000)
        #expect(!ivs.contains([UInt8](repeating: 0, count: 16)))
    }

    @Test("Two instances with the same key draw different IVs")
    func instancesDoNotShareIVs() throws {
        let a = try AuthenticatedCipher(sessionKey: key)
        let b = try AuthenticatedCipher(sessionKey: key)
        let fromA = Set((0..<300).map { _ in Array(a.seal(plaintext)[1..<17]) })
        let fromB = Set((0..<300).map { _ in Array(b.seal(plaintext)[1..<17]) })
        #expect(fromA.isDisjoint(with: fromB))
    }
}
