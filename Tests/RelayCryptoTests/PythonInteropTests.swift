import Testing
@testable import RelayCrypto

/// Interoperability with an independent implementation of PROTOCOL.md section 3 (Python's
/// `cryptography` package, `Interop/peer.py`): each side opens what the other sealed, for
/// both the sealed form and the legacy GPUCrypto form. Skipped, loudly, only where
/// `python3 -c 'import cryptography'` fails; the test installs nothing.
@Suite(.enabled(if: PythonPeer.isAvailable, "needs python3 with the `cryptography` package (see PythonPeer.isAvailable)"))
struct PythonInteropTests {
    static let sizes = [0, 1, 15, 16, 17, 64, 1000, 65536]
    static let messagesPerSize = 3

    let key = SecureRandom.bytes(count: 32)

    /// Distinct plaintexts: `messagesPerSize` of each size.
    var plaintexts: [[UInt8]] {
        Self.sizes.flatMap { size in (0..<Self.messagesPerSize).map { TestBytes.make(count: size, seed: UInt64($0)) } }
    }

    @Test("Python seals, Swift opens")
    func pythonSealsSwiftOpens() throws {
        let sealed = try PythonPeer.seal(plaintexts, key: key, form: .v1)
        let cipher = try AuthenticatedCipher(sessionKey: key)
        for (plaintext, message) in zip(plaintexts, sealed) {
            #expect(message.count == AuthenticatedCipher.sealedCount(plaintextCount: plaintext.count))
            #expect(ByteDiff.between(try cipher.open(message), plaintext) == nil, "\(plaintext.count) bytes")
        }
        #expect(Set(sealed.map { $0[1..<17] }).count == sealed.count, "Python's IVs are fresh too")
    }

    @Test("Swift seals, Python opens; Python refuses the same messages tampered with")
    func swiftSealsPythonOpens() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let sealed = plaintexts.map { cipher.seal($0) }
        let opened = try PythonPeer.open(sealed, key: key, form: .v1)
        for (plaintext, result) in zip(plaintexts, opened) {
            #expect(ByteDiff.between(result, plaintext) == nil, "\(plaintext.count) bytes")
        }

        // A check that Python's open checks: one change in each part of a message.
        let genuine = sealed[Self.messagesPerSize * 5]  // 64 bytes of plaintext
        let tampered = [0, 1, 20, genuine.count - 40, genuine.count - 1].map { position in
            var copy = genuine
            copy[position] ^= 0x80
            return copy
        } + [Array(genuine.dropLast()), genuine + [0], Array(genuine.dropLast(16))]
        let refused = try PythonPeer.open(tampered, key: key, form: .v1)
        #expect(refused.allSatisfy { $0 == nil })
    }

    @Test("Legacy form: Python encrypts, Swift decrypts")
    func pythonEncryptsSwiftDecrypts() throws {
        let messages = try PythonPeer.seal(plaintexts, key: key, form: .legacy)
        let cipher = try GPUCrypto(key: key)
        for (plaintext, message) in zip(plaintexts, messages) {
            #expect(message.count == AESCBCCipher.encryptedCount(plaintextCount: plaintext.count))
            #expect(ByteDiff.between(try cipher.decrypt(message), plaintext) == nil, "\(plaintext.count) bytes")
        }
    }

    @Test("Legacy form: Swift encrypts, Python decrypts")
    func swiftEncryptsPythonDecrypts() throws {
        let cipher = try GPUCrypto(key: key)
        let messages = plaintexts.map { cipher.encrypt($0) }
        let decrypted = try PythonPeer.open(messages, key: key, form: .legacy)
        for (plaintext, result) in zip(plaintexts, decrypted) {
            #expect(ByteDiff.between(result, plaintext) == nil, "\(plaintext.count) bytes")
        }
    }

    @Test("Under another key each side refuses the other's messages")
    func wrongKeyRefusedBothWays() throws {
        let other = SecureRandom.bytes(count: 32)
        let fromPython = try PythonPeer.seal([Array("hello".utf8)], key: other, form: .v1)
        #expect(throws: OpenError.authenticationFailed) { try AuthenticatedCipher(sessionKey: key).open(fromPython[0]) }
        let fromSwift = try AuthenticatedCipher(sessionKey: other).seal(Array("hello".utf8))
        #expect(try PythonPeer.open([fromSwift], key: key, form: .v1) == [nil])
    }
}
