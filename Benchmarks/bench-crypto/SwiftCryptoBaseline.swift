import Crypto
import Foundation
import _CryptoExtras

/// swift-crypto, the Swift peer a user would pick instead: `_CryptoExtras`' `AES._CBC`
/// for encrypt/decrypt, and for seal/open the same sealed format built from `AES._CBC`
/// and `Crypto.HMAC<SHA256>`. Keys are made once; the IV is fixed and given for free.
enum SwiftCryptoBaseline {
    /// The version pinned (`exact:`) in Package.swift.
    static let version = "4.5.2"

    static func batch(_ operation: Operation, _ workload: Workload) -> Batch {
        let keys = Keys(workload)
        let plaintext = workload.plaintext
        switch operation {
        case .encrypt:
            return repeating { try! AES._CBC.encrypt(plaintext, using: keys.cipher, iv: keys.iv).last! }
        case .decrypt:
            let ciphertext = try! AES._CBC.encrypt(plaintext, using: keys.cipher, iv: keys.iv)
            return repeating { try! AES._CBC.decrypt(ciphertext, using: keys.cipher, iv: keys.iv).last! }
        case .seal:
            return repeating { seal(plaintext, keys).last! }
        case .open:
            let sealed = seal(plaintext, keys)
            return repeating { open(sealed, keys).last! }
        }
    }

    private struct Keys {
        let cipher: SymmetricKey
        let mac: SymmetricKey
        let iv: AES._CBC.IV

        init(_ workload: Workload) {
            cipher = SymmetricKey(data: workload.key)
            mac = SymmetricKey(data: workload.macKey)
            iv = try! AES._CBC.IV(ivBytes: workload.iv)
        }
    }

    /// `0x01 | iv | AES._CBC.encrypt | HMAC<SHA256>`.
    private static func seal(_ plaintext: [UInt8], _ keys: Keys) -> Data {
        var sealed = Data([0x01])
        sealed.append(contentsOf: keys.iv)
        sealed.append(try! AES._CBC.encrypt(plaintext, using: keys.cipher, iv: keys.iv))
        sealed.append(contentsOf: HMAC<SHA256>.authenticationCode(for: sealed, using: keys.mac))
        return sealed
    }

    /// Tag check (`isValidAuthenticationCode` compares in constant time), then decryption.
    private static func open(_ sealed: Data, _ keys: Keys) -> Data {
        let body = sealed.prefix(sealed.count - 32)
        guard HMAC<SHA256>.isValidAuthenticationCode(sealed.suffix(32), authenticating: body, using: keys.mac) else {
            fatalError("swift-crypto open: tag mismatch")
        }
        let iv = try! AES._CBC.IV(ivBytes: body.dropFirst().prefix(16))
        return try! AES._CBC.decrypt(body.dropFirst(17), using: keys.cipher, iv: iv)
    }
}
