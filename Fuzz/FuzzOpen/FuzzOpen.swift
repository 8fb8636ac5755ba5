import FuzzSupport
import RelayCrypto

// Fuzzes `AuthenticatedCipher.open` and `AESCBCCipher.decrypt` with arbitrary input under
// a fixed key, and seals/encrypts the same input as a plaintext. Invariants:
// - no crash, whatever the input;
// - `open` succeeds only on a message with a sealed message's shape (version byte,
//   length `sealedCount(plaintext.count)`); random input never carries a valid tag, so in
//   practice only the seed corpus's genuine messages open, and their plaintext seals and
//   opens again;
// - the contiguous and the generic (non-contiguous) `open`/`decrypt` agree;
// - `decrypt` succeeds only with a plaintext 1...16 bytes shorter than the ciphertext;
// - seal → open and encrypt → decrypt return the input; flipping any one bit of the sealed
//   message (the input picks which) makes `open` fail.

private let key = (0..<32).map { UInt8($0) }
// libFuzzer calls from one thread.
nonisolated(unsafe) private let sealer = try! AuthenticatedCipher(sessionKey: key)
nonisolated(unsafe) private let legacy = try! AESCBCCipher(key: key)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOpen(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let scattered = input.lazy.map { $0 }  // not contiguous: takes the generic path

    let opened = try? sealer.open(input)
    Fuzz.require((try? sealer.open(scattered)) == opened, "contiguous and generic open disagree")
    if let opened {
        Fuzz.require(input.count == AuthenticatedCipher.sealedCount(plaintextCount: opened.count)
                        && input[0] == AuthenticatedCipher.version,
                     "open accepted \(input.count) bytes as a \(opened.count)-byte plaintext")
        Fuzz.require((try? sealer.open(sealer.seal(opened))) == opened, "a re-sealed plaintext does not open")
    }

    let decrypted = try? legacy.decrypt(input)
    Fuzz.require((try? legacy.decrypt(scattered)) == decrypted, "contiguous and generic decrypt disagree")
    if let decrypted {
        let padding = input.count - AESCBCCipher.ivSize - decrypted.count
        Fuzz.require((1...16).contains(padding), "decrypt removed \(padding) bytes of padding")
    }

    let sealed = sealer.seal(input)
    Fuzz.require(sealed.count == AuthenticatedCipher.sealedCount(plaintextCount: input.count), "sealed length")
    Fuzz.require((try? sealer.open(sealed))?.elementsEqual(input) == true, "seal → open lost the plaintext")
    var forged = sealed
    let bit = size == 0 ? 0 : (Int(input[0]) << 8 | Int(input[size - 1])) % (sealed.count * 8)
    forged[bit / 8] ^= 1 << UInt8(bit % 8)
    Fuzz.require((try? sealer.open(forged)) == nil, "open accepted a message with bit \(bit) flipped")

    let encrypted = legacy.encrypt(input)
    Fuzz.require(encrypted.count == AESCBCCipher.encryptedCount(plaintextCount: input.count), "encrypted length")
    Fuzz.require((try? legacy.decrypt(encrypted))?.elementsEqual(input) == true, "encrypt → decrypt lost the plaintext")
    return 0
}

/// libFuzzer's driver, or without it a replay of the files named as arguments.
@main
enum Main {
    static func main() {
        Fuzz.main(fuzzOpen)
    }
}
