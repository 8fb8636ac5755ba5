import COpenSSL

/// The hardware limit: libcrypto's EVP AES-256-CBC and HMAC-SHA256 called directly,
/// each context keyed once and reused (only the IV is reset per message), on buffers
/// allocated once, with a fixed IV and no allocation per message.
///
/// seal = `0x01 | iv | AES-CBC | HMAC`, open = HMAC, `CRYPTO_memcmp`, AES-CBC decrypt:
/// the primitives `AuthenticatedCipher` is made of, with nothing around them. The record
/// forms (PROTOCOL.md 7.3) are the same with the 9-byte header `0x02 | seq` and the kind
/// byte encrypted in front of the content (two `EVP_EncryptUpdate` calls, no copy).
final class RawEVPBaseline {
    nonisolated(unsafe) private static let cipher: OpaquePointer = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil)!
    nonisolated(unsafe) private static let hmac: OpaquePointer = EVP_MAC_fetch(nil, "HMAC", nil)!
    private static let tagSize = 32

    private let encryptContext = EVP_CIPHER_CTX_new()!
    private let decryptContext = EVP_CIPHER_CTX_new()!
    private let macContext = EVP_MAC_CTX_new(RawEVPBaseline.hmac)!
    private let size: Int
    private let ciphertextCount: Int
    private let iv: UnsafeMutablePointer<UInt8>
    private let plaintext: UnsafeMutablePointer<UInt8>
    /// `0x01 | iv | ciphertext | tag`; encrypt and decrypt use only the ciphertext part.
    private let sealed: UnsafeMutablePointer<UInt8>
    private let scratch: UnsafeMutablePointer<UInt8>
    /// `0x02 | seq | iv | ciphertext(kind | plaintext) | tag`.
    private let record: UnsafeMutablePointer<UInt8>
    private let recordCiphertextCount: Int
    private var sequenceNumber: UInt64 = 0

    init(_ workload: Workload) {
        size = workload.size
        ciphertextCount = (size / 16 + 1) * 16
        iv = .allocate(capacity: 16)
        iv.initialize(from: workload.iv, count: 16)
        plaintext = .allocate(capacity: max(size, 1))
        plaintext.initialize(from: workload.plaintext, count: size)
        sealed = .allocate(capacity: 1 + 16 + ciphertextCount + Self.tagSize)
        sealed.initialize(repeating: 0, count: 1 + 16 + ciphertextCount + Self.tagSize)
        recordCiphertextCount = ((size + 1) / 16 + 1) * 16
        record = .allocate(capacity: 9 + 16 + recordCiphertextCount + Self.tagSize)
        record.initialize(repeating: 0, count: 9 + 16 + recordCiphertextCount + Self.tagSize)
        scratch = .allocate(capacity: recordCiphertextCount + Self.tagSize)
        scratch.initialize(repeating: 0, count: recordCiphertextCount + Self.tagSize)

        // String literals' storage is static, so the parameter may keep pointers to it.
        let digest: StaticString = "digest"
        let sha256: StaticString = "SHA256"
        var params = [
            OSSL_PARAM_construct_utf8_string(
                UnsafeRawPointer(digest.utf8Start).assumingMemoryBound(to: CChar.self),
                UnsafeMutableRawPointer(mutating: sha256.utf8Start).assumingMemoryBound(to: CChar.self), 0),
            OSSL_PARAM_construct_end(),
        ]
        let ok = workload.key.withUnsafeBufferPointer { key in
            workload.macKey.withUnsafeBufferPointer { macKey in
                EVP_EncryptInit_ex2(encryptContext, Self.cipher, key.baseAddress, iv, nil) == 1
                    && EVP_DecryptInit_ex2(decryptContext, Self.cipher, key.baseAddress, iv, nil) == 1
                    && EVP_MAC_init(macContext, macKey.baseAddress, 32, &params) == 1
            }
        }
        precondition(ok, "raw EVP set-up failed")
    }

    deinit {
        EVP_CIPHER_CTX_free(encryptContext)
        EVP_CIPHER_CTX_free(decryptContext)
        EVP_MAC_CTX_free(macContext)
        iv.deallocate()
        plaintext.deallocate()
        sealed.deallocate()
        scratch.deallocate()
        record.deallocate()
    }

    func batch(_ operation: Operation) -> Batch {
        let ciphertext = sealed + 17
        switch operation {
        case .encrypt:
            return repeating { [self] in
                encrypt(into: scratch)
                return scratch[ciphertextCount - 1]
            }
        case .decrypt:
            encrypt(into: ciphertext)
            return repeating { [self] in scratch[decrypt(ciphertext) - 1] }
        case .seal:
            return repeating { [self] in sealed[seal() - 1] }
        case .open:
            _ = seal()
            return repeating { [self] in scratch[open() - 1] }
        case .recordSeal:
            return repeating { [self] in record[sealRecord() - 1] }
        case .recordOpen:
            _ = sealRecord()
            return repeating { [self] in scratch[openRecord() - 1] }
        }
    }

    private func encrypt(into output: UnsafeMutablePointer<UInt8>) {
        var updated: Int32 = 0
        var finished: Int32 = 0
        guard EVP_EncryptInit_ex2(encryptContext, nil, nil, iv, nil) == 1,
              EVP_EncryptUpdate(encryptContext, output, &updated, plaintext, Int32(size)) == 1,
              EVP_EncryptFinal_ex(encryptContext, output + Int(updated), &finished) == 1
        else { fatalError("EVP encryption failed") }
    }

    /// Decrypts the ciphertext at `input` into `scratch`; returns the plaintext length.
    private func decrypt(_ input: UnsafeMutablePointer<UInt8>) -> Int {
        var updated: Int32 = 0
        var finished: Int32 = 0
        guard EVP_DecryptInit_ex2(decryptContext, nil, nil, iv, nil) == 1,
              EVP_DecryptUpdate(decryptContext, scratch, &updated, input, Int32(ciphertextCount)) == 1,
              EVP_DecryptFinal_ex(decryptContext, scratch + Int(updated), &finished) == 1
        else { fatalError("EVP decryption failed") }
        return Int(updated + finished)
    }

    private func authenticate(_ count: Int, into tag: UnsafeMutablePointer<UInt8>) {
        authenticate(sealed, count, into: tag)
    }

    private func authenticate(_ message: UnsafeMutablePointer<UInt8>, _ count: Int, into tag: UnsafeMutablePointer<UInt8>) {
        var written = 0
        guard EVP_MAC_init(macContext, nil, 0, nil) == 1,
              EVP_MAC_update(macContext, message, count) == 1,
              EVP_MAC_final(macContext, tag, &written, Self.tagSize) == 1
        else { fatalError("EVP HMAC failed") }
    }

    /// Builds `0x01 | iv | ciphertext | tag` in `sealed`; returns its length.
    private func seal() -> Int {
        sealed[0] = 0x01
        (sealed + 1).update(from: iv, count: 16)
        encrypt(into: sealed + 17)
        let authenticated = 17 + ciphertextCount
        authenticate(authenticated, into: sealed + authenticated)
        return authenticated + Self.tagSize
    }

    /// Checks the tag in constant time, then decrypts into `scratch`; returns the plaintext length.
    private func open() -> Int {
        let authenticated = 17 + ciphertextCount
        authenticate(authenticated, into: scratch + ciphertextCount)
        guard CRYPTO_memcmp(scratch + ciphertextCount, sealed + authenticated, Self.tagSize) == 0 else {
            fatalError("raw open: tag mismatch")
        }
        return decrypt(sealed + 17)
    }

    /// Builds `0x02 | seq | iv | ciphertext(0x01 | plaintext) | tag` in `record`; returns its length.
    private func sealRecord() -> Int {
        record[0] = 0x02
        withUnsafeBytes(of: sequenceNumber.bigEndian) { (record + 1).update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: 8) }
        sequenceNumber += 1
        (record + 9).update(from: iv, count: 16)
        var kind: UInt8 = 0x01
        var first: Int32 = 0
        var updated: Int32 = 0
        var finished: Int32 = 0
        let output = record + 25
        guard EVP_EncryptInit_ex2(encryptContext, nil, nil, iv, nil) == 1,
              EVP_EncryptUpdate(encryptContext, output, &first, &kind, 1) == 1,
              EVP_EncryptUpdate(encryptContext, output + Int(first), &updated, plaintext, Int32(size)) == 1,
              EVP_EncryptFinal_ex(encryptContext, output + Int(first + updated), &finished) == 1
        else { fatalError("EVP record encryption failed") }
        let authenticated = 25 + recordCiphertextCount
        authenticate(record, authenticated, into: record + authenticated)
        return authenticated + Self.tagSize
    }

    /// Checks the record's tag in constant time, then decrypts `kind | plaintext` into
    /// `scratch`; returns the decrypted length.
    private func openRecord() -> Int {
        let authenticated = 25 + recordCiphertextCount
        authenticate(record, authenticated, into: scratch + recordCiphertextCount)
        guard CRYPTO_memcmp(scratch + recordCiphertextCount, record + authenticated, Self.tagSize) == 0 else {
            fatalError("raw record open: tag mismatch")
        }
        var updated: Int32 = 0
        var finished: Int32 = 0
        guard EVP_DecryptInit_ex2(decryptContext, nil, nil, record + 9, nil) == 1,
              EVP_DecryptUpdate(decryptContext, scratch, &updated, record + 25, Int32(recordCiphertextCount)) == 1,
              EVP_DecryptFinal_ex(decryptContext, scratch + Int(updated), &finished) == 1
        else { fatalError("EVP record decryption failed") }
        return Int(updated + finished)
    }
}
