import COpenSSL
import CRelayShims

/// AES-256-CBC with PKCS7 over reused EVP contexts: the key schedule is set up once,
/// and each message only resets the IV. Not thread-safe; one per thread.
final class AESCBCContexts {
    static let keySize = 32
    static let blockSize = 16

    /// `EVP_CIPHER_fetch` once per process: an implicit fetch per init would dominate
    /// the cost of short messages.
    nonisolated(unsafe) private static let cipher: OpaquePointer = {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil) else {
            fatalError("OpenSSL has no AES-256-CBC")
        }
        return cipher
    }()

    private let encryptContext: OpaquePointer
    private let decryptContext: OpaquePointer

    /// `key` must be 32 bytes (checked by the callers, which own the error).
    init(key: UnsafeRawBufferPointer) {
        precondition(key.count == Self.keySize)
        guard let encrypt = EVP_CIPHER_CTX_new(), let decrypt = EVP_CIPHER_CTX_new() else {
            fatalError("EVP_CIPHER_CTX_new failed: out of memory")
        }
        encryptContext = encrypt
        decryptContext = decrypt
        let zeroIV = [UInt8](repeating: 0, count: Self.blockSize)
        guard CRelayShims_EVP_CipherInit_ex2(encrypt, Self.cipher, key.baseAddress, zeroIV, 1) == 1,
              CRelayShims_EVP_CipherInit_ex2(decrypt, Self.cipher, key.baseAddress, zeroIV, 0) == 1
        else { fatalError("EVP_CipherInit_ex2 failed for AES-256-CBC") }
    }

    deinit {
        // EVP_CIPHER_CTX_free cleanses the key schedule.
        EVP_CIPHER_CTX_free(encryptContext)
        EVP_CIPHER_CTX_free(decryptContext)
    }

    /// The ciphertext length for `plaintextCount` bytes: PKCS7 always adds 1...16 bytes.
    static func ciphertextCount(plaintextCount: Int) -> Int {
        (plaintextCount / blockSize + 1) * blockSize
    }

    /// Encrypts `plaintext` with `iv` into `output`, which must hold
    /// `ciphertextCount(plaintextCount:)` bytes. With a `prefix`, encrypts
    /// `prefix | plaintext` (one more byte) without copying. Returns the bytes written.
    func encrypt(_ plaintext: UnsafeRawBufferPointer, prefix: UInt8? = nil, iv: UnsafeRawPointer,
                 into output: UnsafeMutableRawPointer) -> Int {
        guard CRelayShims_EVP_CipherInit_ex2(encryptContext, nil, nil, iv, 1) == 1 else {
            fatalError("EVP_CipherInit_ex2 failed to reset the IV")
        }
        var prefixCount: Int32 = 0
        if var prefix {
            // One byte is less than a block: it is buffered, nothing is written yet.
            guard CRelayShims_EVP_EncryptUpdate(encryptContext, output, &prefixCount, &prefix, 1) == 1 else {
                fatalError("AES-256-CBC encryption failed")
            }
        }
        var updateCount: Int32 = 0
        var finalCount: Int32 = 0
        guard plaintext.count <= Int(Int32.max - 32),
              CRelayShims_EVP_EncryptUpdate(
                encryptContext, output + Int(prefixCount), &updateCount,
                plaintext.baseAddress ?? UnsafeRawPointer(output), Int32(plaintext.count)) == 1,
              CRelayShims_EVP_EncryptFinal_ex(
                encryptContext, output + Int(prefixCount + updateCount), &finalCount) == 1
        else { fatalError("AES-256-CBC encryption failed") }
        return Int(prefixCount + updateCount + finalCount)
    }

    /// Decrypts `ciphertext` (a whole number of blocks) with `iv` into `output`, which must
    /// hold `ciphertext.count` bytes, and checks the padding. Returns the plaintext length,
    /// or nil when the padding is wrong.
    func decrypt(_ ciphertext: UnsafeRawBufferPointer, iv: UnsafeRawPointer, into output: UnsafeMutableRawPointer) -> Int? {
        guard ciphertext.count > 0, ciphertext.count % Self.blockSize == 0,
              ciphertext.count <= Int(Int32.max - 32),
              CRelayShims_EVP_CipherInit_ex2(decryptContext, nil, nil, iv, 0) == 1
        else { return nil }
        var updateCount: Int32 = 0
        var finalCount: Int32 = 0
        guard CRelayShims_EVP_DecryptUpdate(
                decryptContext, output, &updateCount, ciphertext.baseAddress, Int32(ciphertext.count)) == 1,
              CRelayShims_EVP_DecryptFinal_ex(decryptContext, output + Int(updateCount), &finalCount) == 1
        else { return nil }
        return Int(updateCount + finalCount)
    }
}
