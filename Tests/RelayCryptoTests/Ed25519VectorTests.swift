import Foundation
import Testing
@testable import RelayCrypto

/// RFC 8032 section 7.1 (Ed25519): TEST 1, 2, 3 and TEST SHA(abc); signatures are
/// deterministic, so signing must reproduce them byte for byte. Also the identity key
/// file's PKCS#8 PEM form (PROTOCOL.md section 7.4).
struct Ed25519VectorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let secretKey: String
        let publicKey: String
        let message: String
        let signature: String
        var testDescription: String { "RFC 8032 \(name)" }
    }

    static let cases = [
        Case(name: "TEST 1",
             secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
             message: "",
             signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        Case(name: "TEST 2",
             secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
             message: "72",
             signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        Case(name: "TEST 3",
             secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
             publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
             message: "af82",
             signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                + "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        Case(name: "TEST SHA(abc)",
             secretKey: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
             publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
             message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
             signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
                + "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ]

    @Test(arguments: cases)
    func publicKeyAndSignatureMatchTheRFC(_ vector: Case) throws {
        let key = try Ed25519PrivateKey(seed: Hex.decode(vector.secretKey))
        #expect(Hex.encode(key.publicKey.rawRepresentation) == vector.publicKey)
        let message = try Hex.decode(vector.message)
        #expect(Hex.encode(key.signature(for: message)) == vector.signature)
    }

    @Test("The RFC signatures verify under the raw public key, and every bit flip of them does not", arguments: cases)
    func verification(_ vector: Case) throws {
        let publicKey = try Ed25519PublicKey(rawRepresentation: Hex.decode(vector.publicKey))
        let message = try Hex.decode(vector.message)
        let signature = try Hex.decode(vector.signature)
        #expect(publicKey.isValidSignature(signature, for: message))
        for position in signature.indices {
            for bit in 0..<8 {
                var tampered = signature
                tampered[position] ^= 1 << bit
                #expect(!publicKey.isValidSignature(tampered, for: message), "signature byte \(position) bit \(bit)")
            }
        }
        #expect(!publicKey.isValidSignature(signature, for: message + [0]))
        #expect(!publicKey.isValidSignature(signature.dropLast(), for: message))
        #expect(!publicKey.isValidSignature(signature + [0], for: message))
    }

    @Test("A generated key survives a PKCS#8 PEM round trip")
    func pemRoundTrip() throws {
        let key = Ed25519PrivateKey()
        let pem = key.withPEMRepresentation { Array($0) }
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let loaded = try Ed25519PrivateKey(pemRepresentation: pem)
        #expect(loaded.publicKey.rawRepresentation == key.publicKey.rawRepresentation)
        let message = Array("relay".utf8)
        #expect(loaded.signature(for: message) == key.signature(for: message))
    }

    @Test("The PEM of a known seed is the RFC 8410 form the vectors give, and reads back", arguments: cases)
    func pemOfKnownSeed(_ vector: Case) throws {
        let key = try Ed25519PrivateKey(seed: Hex.decode(vector.secretKey))
        let pem = key.withPEMRepresentation { Array($0) }
        let loaded = try Ed25519PrivateKey(pemRepresentation: pem)
        #expect(Hex.encode(loaded.publicKey.rawRepresentation) == vector.publicKey)
    }

    @Test("Not a PEM Ed25519 private key: refused", arguments: [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        // An X25519 private key (RFC 8410 section 10.3) is not an identity key.
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n",
    ])
    func invalidPEM(text: String) {
        #expect(throws: Ed25519Error.invalidPrivateKeyFile) { try Ed25519PrivateKey(pemRepresentation: Array(text.utf8)) }
    }

    @Test("An encrypted PKCS#8 key is refused, without asking for a passphrase")
    func encryptedPEM() throws {
        // openssl genpkey -algorithm ed25519 -aes-256-cbc -pass pass:relay
        let pem = """
            -----BEGIN ENCRYPTED PRIVATE KEY-----
            MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAim9pv9FN6kLQICCAAw
            DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEKbonHYCC02x5h4n7E7tiLUEQF8z
            jAWelflFWVE7X/vWBDvxkrpLodM/mbr9owinXD7yBiMoMB9gDT4L4UP956Y0d5GU
            o8sJh10i8w53vpxcY/o=
            -----END ENCRYPTED PRIVATE KEY-----

            """
        #expect(throws: Ed25519Error.invalidPrivateKeyFile) { try Ed25519PrivateKey(pemRepresentation: Array(pem.utf8)) }
    }

    @Test("Raw keys of the wrong length are refused", arguments: [0, 31, 33, 64])
    func wrongLengths(count: Int) {
        #expect(throws: Ed25519Error.invalidKeyLength(count)) { try Ed25519PrivateKey(seed: [UInt8](repeating: 1, count: count)) }
        #expect(throws: Ed25519Error.invalidKeyLength(count)) {
            try Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 1, count: count))
        }
    }
}

/// PKCS#8 version 1 (RFC 5958 OneAsymmetricKey) with the public key, which the vectors'
/// readings say readers should accept although OpenSSL 3.0 cannot read it.
struct Ed25519OneAsymmetricKeyTests {
    /// RFC 8032 TEST 1's seed, then `81 21 00` and its public key.
    static func pem(publicKey: String) throws -> [UInt8] {
        let der = try Hex.decode("3051020101300506032b657004220420"
            + "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60" + "812100" + publicKey)
        return Array("-----BEGIN PRIVATE KEY-----\n\(Data(der).base64EncodedString())\n-----END PRIVATE KEY-----\n".utf8)
    }

    @Test func versionOneWithThePublicKeyIsRead() throws {
        let key = try Ed25519PrivateKey(pemRepresentation: Self.pem(
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(Hex.encode(key.publicKey.rawRepresentation) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        // Written back, it is the version 0 form.
        #expect(String(decoding: key.withPEMRepresentation { Array($0) }, as: UTF8.self)
                == "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n")
    }

    @Test func versionOneWithAnotherPublicKeyIsRefused() throws {
        #expect(throws: Ed25519Error.invalidPrivateKeyFile) {
            try Ed25519PrivateKey(pemRepresentation: Self.pem(
                publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"))
        }
    }

    @Test("RFC 8410 section 10.3's example (attributes and public key): refused, not misread")
    func withAttributesIsRefused() {
        let pem = """
            -----BEGIN PRIVATE KEY-----
            MHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
            oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB
            Z9w7lshQhqowtrbLDFw4rXAxZuE=
            -----END PRIVATE KEY-----

            """
        #expect(throws: Ed25519Error.invalidPrivateKeyFile) { try Ed25519PrivateKey(pemRepresentation: Array(pem.utf8)) }
    }
}
