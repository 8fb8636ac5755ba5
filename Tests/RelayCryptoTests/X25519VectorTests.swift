import Testing
@testable import RelayCrypto

/// RFC 7748: the section 5.2 known answers (two single scalar multiplications, then 1 and
/// 1,000 iterations of k, u = X25519(k, u), k) and the section 6.1 Diffie-Hellman example;
/// and the refusal of an all-zero shared secret (section 6.1's check).
struct X25519VectorTests {
    func x25519(_ scalar: [UInt8], _ u: [UInt8]) throws -> [UInt8] {
        try X25519PrivateKey(rawRepresentation: scalar).sharedSecret(with: u).withUnsafeBytes { Array($0) }
    }

    @Test("RFC 7748 section 5.2, the two single multiplications", arguments: [
        ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
        ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
    ])
    func singleMultiplication(scalar: String, u: String, output: String) throws {
        #expect(Hex.encode(try x25519(Hex.decode(scalar), Hex.decode(u))) == output)
    }

    @Test("RFC 7748 section 5.2, 1 and 1,000 iterations")
    func iterations() throws {
        var k = [UInt8](repeating: 0, count: 32)
        k[0] = 9
        var u = k
        for iteration in 1...1000 {
            let result = try x25519(k, u)
            u = k
            k = result
            if iteration == 1 {
                #expect(Hex.encode(k) == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
            }
        }
        #expect(Hex.encode(k) == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
    }

    @Test("RFC 7748 section 6.1: Alice's and Bob's public keys and their shared secret")
    func diffieHellman() throws {
        let alice = try X25519PrivateKey(rawRepresentation: Hex.decode(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        let bob = try X25519PrivateKey(rawRepresentation: Hex.decode(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(Hex.encode(alice.publicKey) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(Hex.encode(bob.publicKey) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        #expect(Hex.encode(try alice.sharedSecret(with: bob.publicKey).withUnsafeBytes { Array($0) }) == shared)
        #expect(Hex.encode(try bob.sharedSecret(with: alice.publicKey).withUnsafeBytes { Array($0) }) == shared)
    }

    @Test("Fresh key pairs agree with each other and differ from one another")
    func freshKeys() throws {
        let a = X25519PrivateKey()
        let b = X25519PrivateKey()
        #expect(a.publicKey.count == 32 && a.publicKey != b.publicKey)
        let ab = try a.sharedSecret(with: b.publicKey).withUnsafeBytes { Array($0) }
        let ba = try b.sharedSecret(with: a.publicKey).withUnsafeBytes { Array($0) }
        #expect(ab == ba && ab != [UInt8](repeating: 0, count: 32))
    }

    /// u = 0, u = 1 (order 1 and 4 on the curve's twist side), the order-8 points, and
    /// p - 1, p, p + 1 (non-canonical encodings of small-order points): X25519 is all zero
    /// for every scalar, so the agreement must refuse them.
    static let smallOrderPoints = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]

    @Test("An all-zero shared secret (a small-order public key) is refused", arguments: smallOrderPoints)
    func smallOrderPointRefused(point: String) throws {
        let key = X25519PrivateKey()
        #expect(throws: X25519Error.allZeroSharedSecret) { try key.sharedSecret(with: Hex.decode(point)) }
        let fixed = try X25519PrivateKey(rawRepresentation: Hex.decode(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        #expect(throws: X25519Error.allZeroSharedSecret) { try fixed.sharedSecret(with: Hex.decode(point)) }
    }

    @Test("Keys of the wrong length are refused", arguments: [0, 31, 33, 64])
    func wrongLengths(count: Int) throws {
        #expect(throws: X25519Error.invalidKeyLength(count)) { try X25519PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: count)) }
        #expect(throws: X25519Error.invalidKeyLength(count)) {
            try X25519PrivateKey().sharedSecret(with: [UInt8](repeating: 7, count: count))
        }
    }
}
