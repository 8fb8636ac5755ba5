import Testing
@testable import RelayCrypto

/// Both ciphers take exactly 32-byte keys; any other length is `CryptoError.invalidKeyLength`.
struct KeyLengthTests {
    static let wrongLengths = [0, 1, 16, 31, 33, 64]

    @Test("AESCBCCipher refuses a key of the wrong length", arguments: wrongLengths)
    func legacyCipherRefuses(length: Int) {
        #expect(throws: CryptoError.invalidKeyLength(length)) { try AESCBCCipher(key: [UInt8](repeating: 7, count: length)) }
    }

    @Test("AuthenticatedCipher refuses a key of the wrong length", arguments: wrongLengths)
    func authenticatedCipherRefuses(length: Int) {
        #expect(throws: CryptoError.invalidKeyLength(length)) {
            try AuthenticatedCipher(sessionKey: [UInt8](repeating: 7, count: length))
        }
    }

    @Test("32 bytes are accepted, from an array, a slice or a non-contiguous collection")
    func thirtyTwoBytesAccepted() throws {
        let bytes = TestBytes.make(count: 40, seed: 1)
        let key = Array(bytes[4..<36])
        let plaintext = Array("same key, three spellings".utf8)
        let sealed = try AuthenticatedCipher(sessionKey: key).seal(plaintext)
        #expect(try AuthenticatedCipher(sessionKey: bytes[4..<36]).open(sealed) == plaintext)
        #expect(try AuthenticatedCipher(sessionKey: key.lazy.map { $0 }).open(sealed) == plaintext)
        let encrypted = try AESCBCCipher(key: key).encrypt(plaintext)
        #expect(try AESCBCCipher(key: bytes[4..<36]).decrypt(encrypted) == plaintext)
        #expect(try AESCBCCipher(key: key.lazy.map { $0 }).decrypt(encrypted) == plaintext)
    }
}
