import Testing
@testable import RelayCrypto

/// Encrypt/decrypt and seal/open give back every plaintext, for every length 0...1100 and
/// 1 MiB, with the documented output lengths. Separate instances with the same key play
/// the two peers.
struct RoundTripTests {
    let key = TestBytes.make(count: 32, seed: 0xC1)

    /// PKCS7 always adds 1...16 bytes: whole blocks, one more when the length is already whole.
    static func paddedCount(_ plaintextCount: Int) -> Int { (plaintextCount / 16 + 1) * 16 }

    static let lengths = Array(0...1100) + [1 << 20]

    /// Each length through `forward` then `back`: `forward`'s output has `expectedCount`
    /// bytes, and `back` restores the plaintext.
    func roundTripEveryLength(
        seed: UInt64, expectedCount: (Int) -> Int,
        forward: ([UInt8]) -> [UInt8], back: ([UInt8]) throws -> [UInt8]
    ) throws {
        for count in Self.lengths {
            let plaintext = TestBytes.make(count: count, seed: seed)
            let output = forward(plaintext)
            #expect(output.count == expectedCount(count), "\(count) bytes")
            #expect(ByteDiff.between(try back(output), plaintext) == nil, "\(count) bytes")
        }
    }

    @Test("GPUCrypto form: every length 0...1100 and 1 MiB")
    func legacyEveryLength() throws {
        let sender = try GPUCrypto(key: key)
        let receiver = try GPUCrypto(key: key)
        for count in [0, 15, 16, 1 << 20] {
            #expect(AESCBCCipher.encryptedCount(plaintextCount: count) == 16 + Self.paddedCount(count))
        }
        try roundTripEveryLength(
            seed: 1, expectedCount: { 16 + Self.paddedCount($0) },
            forward: { sender.encrypt($0) }, back: { try receiver.decrypt($0) })
    }

    @Test("Sealed form: every length 0...1100 and 1 MiB")
    func sealedEveryLength() throws {
        let sender = try AuthenticatedCipher(sessionKey: key)
        let receiver = try AuthenticatedCipher(sessionKey: key)
        for count in [0, 15, 16, 1 << 20] {
            #expect(AuthenticatedCipher.sealedCount(plaintextCount: count) == 1 + 16 + Self.paddedCount(count) + 32)
        }
        try roundTripEveryLength(
            seed: 2, expectedCount: { 1 + 16 + Self.paddedCount($0) + 32 },
            forward: { plaintext in
                let sealed = sender.seal(plaintext)
                #expect(sealed.first == 0x01, "\(plaintext.count) bytes")
                return sealed
            },
            back: { try receiver.open($0) })
    }

    @Test("Documented constants")
    func constants() {
        #expect(AuthenticatedCipher.framingOverhead == 49)
        #expect(AuthenticatedCipher.minimumSealedCount == 65)
        #expect(AuthenticatedCipher.version == 0x01)
        #expect(AuthenticatedCipher.keySize == 32 && AESCBCCipher.keySize == 32 && AESCBCCipher.ivSize == 16)
        #expect(HMACSHA256.tagSize == 32)
    }

    @Test("Every entry point of the sealed form agrees: array, slice, non-contiguous, raw buffer, appending")
    func sealedEntryPoints() throws {
        let sender = try AuthenticatedCipher(sessionKey: key)
        let receiver = try AuthenticatedCipher(sessionKey: key)
        for count in [0, 1, 16, 300] {
            let plaintext = TestBytes.make(count: count, seed: 3)
            let framed = [UInt8](repeating: 0xEE, count: 5) + plaintext + [0xEE]
            let fromSlice = sender.seal(framed[5..<(5 + count)])
            let fromLazy = sender.seal(plaintext.lazy.map { $0 })
            let fromRaw = plaintext.withUnsafeBytes { sender.seal($0) }
            var appended: [UInt8] = [0xAB, 0xCD]
            plaintext.withUnsafeBytes { sender.seal($0, appendingTo: &appended) }
            #expect(appended.prefix(2) == [0xAB, 0xCD], "\(count) bytes: the prefix is kept")
            #expect(appended.count == 2 + AuthenticatedCipher.sealedCount(plaintextCount: count))
            let inFrame = appended.dropFirst(2)  // an ArraySlice, as a frame body would be
            for (name, sealed) in [("slice", fromSlice), ("lazy", fromLazy), ("raw", fromRaw), ("appended", Array(inFrame))] {
                #expect(ByteDiff.between(try receiver.open(sealed), plaintext) == nil, "\(count) bytes, \(name)")
            }
            #expect(ByteDiff.between(try receiver.open(inFrame), plaintext) == nil, "\(count) bytes, opened as a slice")
            #expect(ByteDiff.between(try receiver.open(inFrame.lazy.map { $0 }), plaintext) == nil, "\(count) bytes, opened lazily")
            #expect(ByteDiff.between(try Array(inFrame).withUnsafeBytes { try receiver.open($0) }, plaintext) == nil, "\(count) bytes, raw")
        }
    }

    @Test("Every entry point of the GPUCrypto form agrees: array, slice, non-contiguous, raw buffer")
    func legacyEntryPoints() throws {
        let sender = try AESCBCCipher(key: key)
        let receiver = try AESCBCCipher(key: key)
        for count in [0, 1, 16, 300] {
            let plaintext = TestBytes.make(count: count, seed: 4)
            let framed = [0xEE] + plaintext
            for (name, message) in [("slice", sender.encrypt(framed.dropFirst())),
                                    ("lazy", sender.encrypt(plaintext.lazy.map { $0 })),
                                    ("raw", plaintext.withUnsafeBytes { sender.encrypt($0) })] {
                #expect(ByteDiff.between(try receiver.decrypt(message), plaintext) == nil, "\(count) bytes, \(name)")
                #expect(ByteDiff.between(try receiver.decrypt(([0xEE] + message).dropFirst()), plaintext) == nil, "\(count) bytes, \(name), slice")
                #expect(ByteDiff.between(try receiver.decrypt(message.lazy.map { $0 }), plaintext) == nil, "\(count) bytes, \(name), lazy")
                #expect(ByteDiff.between(try message.withUnsafeBytes { try receiver.decrypt($0) }, plaintext) == nil, "\(count) bytes, \(name), raw")
            }
        }
    }
}
