import Testing
@testable import RelayCrypto

/// RFC 4231 section 4, HMAC-SHA-256 results of test cases 1 to 7.
struct HMACSHA256VectorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let number: Int
        let key: String
        let data: [UInt8]
        /// Test case 5 publishes only the first 128 bits.
        let tag: String
        var testDescription: String { "RFC 4231 case \(number)" }
    }

    static let cases: [Case] = [
        Case(number: 1, key: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
             data: Array("Hi There".utf8),
             tag: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Case(number: 2, key: "4a656665",  // "Jefe"
             data: Array("what do ya want for nothing?".utf8),
             tag: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Case(number: 3, key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             data: [UInt8](repeating: 0xdd, count: 50),
             tag: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Case(number: 4, key: "0102030405060708090a0b0c0d0e0f10111213141516171819",
             data: [UInt8](repeating: 0xcd, count: 50),
             tag: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        Case(number: 5, key: "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
             data: Array("Test With Truncation".utf8),
             tag: "a3b6167473100ee06e0c796c2955552b"),
        Case(number: 6, key: String(repeating: "aa", count: 131),
             data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             tag: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Case(number: 7, key: String(repeating: "aa", count: 131),
             data: Array(("This is a test using a larger than block-size key and a larger than block-size data."
                          + " The key needs to be hashed before being used by the HMAC algorithm.").utf8),
             tag: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    /// The tag compared as the RFC gives it: truncated to its published length.
    static func published(_ tag: [UInt8], _ vector: Case) -> String {
        Hex.encode(tag.prefix(vector.tag.count / 2))
    }

    @Test(arguments: cases)
    func tagMatchesTheRFC(_ vector: Case) throws {
        let mac = HMACSHA256(key: try Hex.decode(vector.key))
        let tag = mac.authenticationCode(for: vector.data)
        #expect(tag.count == HMACSHA256.tagSize)
        #expect(Self.published(tag, vector) == vector.tag)
    }

    @Test("A reused context gives the same tag every time", arguments: cases)
    func reusedContext(_ vector: Case) throws {
        let mac = HMACSHA256(key: try Hex.decode(vector.key))
        let first = mac.authenticationCode(for: [0x00, 0x01])  // something else first
        for _ in 0..<3 {
            #expect(Self.published(mac.authenticationCode(for: vector.data), vector) == vector.tag)
        }
        #expect(mac.authenticationCode(for: [0x00, 0x01]) == first)
    }

    @Test("Input in two parts, split at every position, gives the whole input's tag", arguments: cases)
    func splitInput(_ vector: Case) throws {
        let mac = HMACSHA256(key: try Hex.decode(vector.key))
        for split in 0...vector.data.count {
            var tag = [UInt8](repeating: 0, count: HMACSHA256.tagSize)
            let head = Array(vector.data[..<split])
            let tail = Array(vector.data[split...])
            head.withUnsafeBytes { first in
                tail.withUnsafeBytes { second in
                    tag.withUnsafeMutableBytes { mac.authenticate(first, second, into: $0.baseAddress!) }
                }
            }
            #expect(Self.published(tag, vector) == vector.tag, "split at \(split)")
        }
    }

    @Test("A non-contiguous collection gives the same tag", arguments: cases)
    func nonContiguousInput(_ vector: Case) throws {
        let mac = HMACSHA256(key: try Hex.decode(vector.key).lazy.map { $0 })
        let tag = mac.authenticationCode(for: vector.data.lazy.map { $0 })
        #expect(Self.published(tag, vector) == vector.tag)
    }
}
