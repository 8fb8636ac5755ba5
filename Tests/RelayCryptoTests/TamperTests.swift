import Testing
@testable import RelayCrypto

/// Every change to a sealed message fails `open` with the one error,
/// `OpenError.authenticationFailed` (PROTOCOL.md section 3).
struct TamperTests {
    let key = TestBytes.make(count: 32, seed: 0xA1)

    func sealed(_ plaintextCount: Int, by cipher: AuthenticatedCipher) -> [UInt8] {
        cipher.seal(TestBytes.make(count: plaintextCount, seed: UInt64(plaintextCount)))
    }

    @Test("Every bit of every byte flipped, one at a time", arguments: [0, 1, 31, 100])
    func everyBitFlipped(plaintextCount: Int) throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let message = sealed(plaintextCount, by: cipher)
        #expect(try cipher.open(message).count == plaintextCount)
        for position in message.indices {
            for bit in 0..<8 {
                var tampered = message
                tampered[position] ^= 1 << bit
                #expect(throws: OpenError.authenticationFailed, "byte \(position) bit \(bit)") { try cipher.open(tampered) }
            }
        }
    }

    @Test("The shortest message, every byte replaced by each of its 255 other values")
    func everyByteEveryValue() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let message = sealed(0, by: cipher)
        #expect(message.count == AuthenticatedCipher.minimumSealedCount)
        for position in message.indices {
            for delta in UInt8(1)...UInt8(255) {
                var tampered = message
                tampered[position] ^= delta
                #expect(throws: OpenError.authenticationFailed, "byte \(position) xor \(delta)") { try cipher.open(tampered) }
            }
        }
    }

    @Test("Truncated by 1...80 bytes, at the end and at the front", arguments: [0, 100])
    func truncated(plaintextCount: Int) throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let message = sealed(plaintextCount, by: cipher)
        for cut in 1...80 {
            #expect(throws: OpenError.authenticationFailed, "last \(cut) dropped") { try cipher.open(message.dropLast(cut)) }
            #expect(throws: OpenError.authenticationFailed, "first \(cut) dropped") { try cipher.open(message.dropFirst(cut)) }
        }
    }

    @Test("Extended by 1...64 bytes of zeros, of random bytes, and of its own tail", arguments: [0, 100])
    func extended(plaintextCount: Int) throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let message = sealed(plaintextCount, by: cipher)
        for extra in 1...64 {
            for (kind, tail) in [("zeros", [UInt8](repeating: 0, count: extra)),
                                 ("random", TestBytes.make(count: extra, seed: 0xE0)),
                                 ("own tail", Array(message.suffix(extra)))] {
                #expect(throws: OpenError.authenticationFailed, "\(extra) bytes of \(kind)") { try cipher.open(message + tail) }
            }
        }
    }

    @Test("Every other version byte, tag left as it was")
    func wrongVersionByte() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let message = sealed(20, by: cipher)
        #expect(message[0] == 0x01)
        for version in UInt8.min...UInt8.max where version != 0x01 {
            var tampered = message
            tampered[0] = version
            #expect(throws: OpenError.authenticationFailed, "version \(version)") { try cipher.open(tampered) }
        }
    }

    @Test("A different key: random, and each of the 256 one-bit neighbours of the right key")
    func wrongKey() throws {
        let message = sealed(50, by: try AuthenticatedCipher(sessionKey: key))
        let random = try AuthenticatedCipher(sessionKey: TestBytes.make(count: 32, seed: 0xA2))
        #expect(throws: OpenError.authenticationFailed) { try random.open(message) }
        for bit in 0..<256 {
            var neighbour = key
            neighbour[bit / 8] ^= 1 << (bit % 8)
            let other = try AuthenticatedCipher(sessionKey: neighbour)
            #expect(throws: OpenError.authenticationFailed, "key bit \(bit)") { try other.open(message) }
        }
    }

    @Test("Parts of two genuine messages spliced together")
    func spliced() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        let a = sealed(40, by: cipher)
        let b = sealed(40, by: cipher)
        let ivSwapped = [a[0]] + a[1..<17] + b[17...]
        let tagSwapped = a.dropLast(32) + b.suffix(32)
        let blocksSwapped = a[..<17] + a[33..<49] + a[17..<33] + a[49...]
        for (name, message) in [("iv of a", ivSwapped), ("tag of b", Array(tagSwapped)), ("blocks swapped", Array(blocksSwapped))] {
            #expect(throws: OpenError.authenticationFailed, "\(name)") { try cipher.open(message) }
        }
    }

    @Test("Anything shorter than the shortest sealed message, even all zeros")
    func tooShort() throws {
        let cipher = try AuthenticatedCipher(sessionKey: key)
        for count in 0..<AuthenticatedCipher.minimumSealedCount {
            #expect(throws: OpenError.authenticationFailed, "\(count) random bytes") {
                try cipher.open([0x01] + TestBytes.make(count: count, seed: 3).dropFirst())
            }
            #expect(throws: OpenError.authenticationFailed, "\(count) zeros") { try cipher.open([UInt8](repeating: 0, count: count)) }
        }
    }

    @Test("A legacy-form message of the same plaintext is not a sealed message")
    func legacyMessageIsRefused() throws {
        let plaintext = TestBytes.make(count: 64, seed: 4)
        let legacy = try AESCBCCipher(key: key).encrypt(plaintext)
        let cipher = try AuthenticatedCipher(sessionKey: key)
        #expect(throws: OpenError.authenticationFailed) { try cipher.open(legacy) }
        #expect(throws: OpenError.authenticationFailed) { try cipher.open([0x01] + legacy + [UInt8](repeating: 0, count: 32)) }
    }
}
