import Testing
@testable import RelayCrypto

/// RFC 5869 appendix A, test cases 1 to 3 (the SHA-256 ones): the pseudorandom key of
/// HKDF-Extract and the output keying material, in one step and as extract then expand.
struct HKDFVectorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let number: Int
        let ikm: String
        let salt: String
        let info: String
        let length: Int
        let prk: String
        let okm: String
        var testDescription: String { "RFC 5869 case \(number)" }
    }

    static let cases: [Case] = [
        Case(number: 1,
             ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
             salt: "000102030405060708090a0b0c",
             info: "f0f1f2f3f4f5f6f7f8f9",
             length: 42,
             prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
             okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        Case(number: 2,
             ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                + "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                + "404142434445464748494a4b4c4d4e4f",
             salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                + "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                + "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
             info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
                + "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
                + "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
             length: 82,
             prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
             okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                + "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                + "cc30c58179ec3e87c14c01d5c1f3434f1d87"),
        Case(number: 3,
             ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
             salt: "",
             info: "",
             length: 42,
             prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
             okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ]

    @Test(arguments: cases)
    func outputMatchesTheRFC(_ vector: Case) throws {
        let okm = HKDF.deriveKey(
            inputKeyMaterial: try Hex.decode(vector.ikm), salt: try Hex.decode(vector.salt),
            info: try Hex.decode(vector.info), outputByteCount: vector.length)
        #expect(Hex.encode(okm) == vector.okm)
    }

    @Test("HKDF-Extract gives the RFC's PRK", arguments: cases)
    func extractMatchesTheRFC(_ vector: Case) throws {
        let prk = HKDF.extract(salt: try Hex.decode(vector.salt), inputKeyMaterial: try Hex.decode(vector.ikm))
        #expect(Hex.encode(prk) == vector.prk)
    }

    @Test("HKDF-Expand of the RFC's PRK gives its OKM", arguments: cases)
    func expandMatchesTheRFC(_ vector: Case) throws {
        let okm = HKDF.expand(pseudoRandomKey: try Hex.decode(vector.prk), info: try Hex.decode(vector.info),
                              outputByteCount: vector.length)
        #expect(Hex.encode(okm) == vector.okm)
    }

    @Test("Deriving into a caller's buffer (the path the ciphers use) gives the same bytes", arguments: cases)
    func deriveIntoBuffer(_ vector: Case) throws {
        let ikm = try Hex.decode(vector.ikm)
        var okm = [UInt8](repeating: 0, count: vector.length)
        try ikm.withUnsafeBytes { ikmBytes in
            try okm.withUnsafeMutableBytes { output in
                HKDF.derive(inputKeyMaterial: ikmBytes, salt: try Hex.decode(vector.salt),
                            info: try Hex.decode(vector.info), into: output)
            }
        }
        #expect(Hex.encode(okm) == vector.okm)
    }

    /// PROTOCOL.md section 3 relies on this: "salt empty, i.e. 32 zero bytes".
    @Test("Case 3 again with the salt spelled out as HashLen zero bytes")
    func emptySaltIsHashLenZeros() throws {
        let vector = Self.cases[2]
        let okm = HKDF.deriveKey(
            inputKeyMaterial: try Hex.decode(vector.ikm), salt: [UInt8](repeating: 0, count: 32),
            info: [], outputByteCount: vector.length)
        #expect(Hex.encode(okm) == vector.okm)
    }

    @Test("A shorter output is a prefix of a longer one", arguments: cases)
    func shorterOutputIsPrefix(_ vector: Case) throws {
        let okm = HKDF.deriveKey(
            inputKeyMaterial: try Hex.decode(vector.ikm), salt: try Hex.decode(vector.salt),
            info: try Hex.decode(vector.info), outputByteCount: 32)
        #expect(Hex.encode(okm) == String(vector.okm.prefix(64)))
    }
}
