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
        case .recordSeal:
            var sequenceNumber: UInt64 = 0
            return repeating {
                sequenceNumber += 1
                return sealRecord(plaintext, sequenceNumber: sequenceNumber, keys).last!
            }
        case .recordOpen:
            let record = sealRecord(plaintext, sequenceNumber: 0, keys)
            return repeating { openRecord(record, keys).last! }
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

    /// `0x02 | seq | iv | AES._CBC.encrypt(0x01 | plaintext) | HMAC<SHA256>`.
    private static func sealRecord(_ plaintext: [UInt8], sequenceNumber: UInt64, _ keys: Keys) -> Data {
        var record = Data([0x02])
        withUnsafeBytes(of: sequenceNumber.bigEndian) { record.append(contentsOf: $0) }
        record.append(contentsOf: keys.iv)
        record.append(try! AES._CBC.encrypt([0x01] + plaintext, using: keys.cipher, iv: keys.iv))
        record.append(contentsOf: HMAC<SHA256>.authenticationCode(for: record, using: keys.mac))
        return record
    }

    /// Tag check, then decryption of `kind | content`.
    private static func openRecord(_ record: Data, _ keys: Keys) -> Data {
        let body = record.prefix(record.count - 32)
        guard HMAC<SHA256>.isValidAuthenticationCode(record.suffix(32), authenticating: body, using: keys.mac) else {
            fatalError("swift-crypto record open: tag mismatch")
        }
        let iv = try! AES._CBC.IV(ivBytes: body.dropFirst(9).prefix(16))
        return try! AES._CBC.decrypt(body.dropFirst(25), using: keys.cipher, iv: iv)
    }

    /// One agreement with swift-crypto's Curve25519, SHA256 and HKDF: a fresh key, Z
    /// (swift-crypto refuses an all-zero one itself), T, PRK and the five keys.
    static func agreementBatch(_ workload: AgreementWorkload) -> Batch {
        let peer = try! Curve25519.KeyAgreement.PublicKey(rawRepresentation: workload.peerPublicKey)
        let salt = workload.sessionKey
        let prefix = workload.transcriptPrefix
        return repeating {
            let own = Curve25519.KeyAgreement.PrivateKey()
            let z = try! own.sharedSecretFromKeyAgreement(with: peer).withUnsafeBytes { SymmetricKey(data: $0) }
            let transcript = Array(SHA256.hash(data: prefix + own.publicKey.rawRepresentation + workload.peerPublicKey))
            let prk = HKDF<SHA256>.extract(inputKeyMaterial: z, salt: salt)
            var last: UInt8 = 0
            for label in AgreementWorkload.labels {
                let key = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: label + transcript, outputByteCount: 32)
                last = key.withUnsafeBytes { $0[0] }
            }
            return last
        }
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
