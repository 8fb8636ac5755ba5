import Foundation
import Testing
@testable import RelayCrypto

/// The contract's sealed-message vectors (`Vectors/seal-v1.json`), computed by an
/// independent implementation: seal must reproduce them byte for byte, open must accept them.
struct SealVectorTests {
    struct Case: Decodable {
        let sessionKey: String
        let iv: String
        let plaintext: String
        let encKey: String
        let macKey: String
        let sealed: String
        let legacy: String
    }

    struct VectorFile: Decodable {
        let cases: [Case]
    }

    static func loadCases() throws -> [Case] {
        let data = try TestVectors.data(named: "seal-v1.json")
        return try JSONDecoder().decode(VectorFile.self, from: data).cases
    }

    @Test func derivedKeysMatchTheVectors() throws {
        for (index, vector) in try Self.loadCases().enumerated() {
            let key = try Hex.decode(vector.sessionKey)
            let encKey = HKDF.deriveKey(inputKeyMaterial: key, info: AuthenticatedCipher.encryptionInfo, outputByteCount: 32)
            let macKey = HKDF.deriveKey(inputKeyMaterial: key, info: AuthenticatedCipher.authenticationInfo, outputByteCount: 32)
            #expect(Hex.encode(encKey) == vector.encKey, "case \(index): encKey")
            #expect(Hex.encode(macKey) == vector.macKey, "case \(index): macKey")
        }
    }

    @Test func sealReproducesEveryVector() throws {
        for (index, vector) in try Self.loadCases().enumerated() {
            let cipher = try AuthenticatedCipher(sessionKey: Hex.decode(vector.sessionKey))
            let sealed = cipher.seal(try Hex.decode(vector.plaintext), iv: try Hex.decode(vector.iv))
            #expect(Hex.encode(sealed) == vector.sealed, "case \(index)")
        }
    }

    @Test func openAcceptsEveryVector() throws {
        for (index, vector) in try Self.loadCases().enumerated() {
            let cipher = try AuthenticatedCipher(sessionKey: Hex.decode(vector.sessionKey))
            let opened = try cipher.open(Hex.decode(vector.sealed))
            #expect(Hex.encode(opened) == vector.plaintext, "case \(index)")
        }
    }

    @Test func legacyFormReproducesEveryVector() throws {
        for (index, vector) in try Self.loadCases().enumerated() {
            let cipher = try AESCBCCipher(key: Hex.decode(vector.sessionKey))
            let encrypted = cipher.encrypt(try Hex.decode(vector.plaintext), iv: try Hex.decode(vector.iv))
            #expect(Hex.encode(encrypted) == vector.legacy, "case \(index)")
            #expect(Hex.encode(try cipher.decrypt(Hex.decode(vector.legacy))) == vector.plaintext, "case \(index)")
        }
    }

    @Test func openRejectsEverySingleByteChangeOfEveryVector() throws {
        for (index, vector) in try Self.loadCases().enumerated() {
            let cipher = try AuthenticatedCipher(sessionKey: Hex.decode(vector.sessionKey))
            let sealed = try Hex.decode(vector.sealed)
            for position in sealed.indices {
                var tampered = sealed
                tampered[position] ^= 0x01
                #expect(throws: OpenError.authenticationFailed, "case \(index), byte \(position)") {
                    try cipher.open(tampered)
                }
            }
        }
    }
}
