/// The original design's `GPUCrypto` cipher: AES-256-CBC with PKCS7 and a fresh random
/// IV per message, the 32-byte key used directly, **no authentication**.
///
/// Messages are `iv | ciphertext`. This is the legacy protocol's form: anyone who can
/// change bytes in transit can change the plaintext undetected. New code uses
/// ``AuthenticatedCipher``. Not thread-safe: use one instance per thread.
public final class AESCBCCipher {
    /// The key length in bytes.
    public static let keySize = 32
    /// The IV length in bytes, which is also the prefix of every message.
    public static let ivSize = 16

    private let contexts: AESCBCContexts
    private let ivSource = RandomIVSource()
    private let output = OutputArrayBuilder()

    /// Creates a cipher from a 32-byte key; any other length throws
    /// ``CryptoError/invalidKeyLength(_:)``.
    public init<Key: Collection>(key: Key) throws(CryptoError) where Key.Element == UInt8 {
        let keyBytes = SecureBytes(count: key.count)
        guard key.count == Self.keySize else { throw .invalidKeyLength(key.count) }
        UnsafeMutableRawBufferPointer(start: keyBytes.pointer, count: key.count).copyBytes(from: key)
        contexts = keyBytes.withUnsafeBytes { AESCBCContexts(key: $0) }
    }

    /// The length of `encrypt`'s output for a plaintext of `plaintextCount` bytes.
    public static func encryptedCount(plaintextCount: Int) -> Int {
        ivSize + AESCBCContexts.ciphertextCount(plaintextCount: plaintextCount)
    }

    /// Encrypts `plaintext` under a fresh random IV; returns `iv | ciphertext`.
    @inlinable
    public func encrypt<Plaintext: Collection>(_ plaintext: Plaintext) -> [UInt8] where Plaintext.Element == UInt8 {
        if let result = plaintext.withContiguousStorageIfAvailable({ encrypt(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(plaintext).withUnsafeBytes { encrypt($0) }
    }

    /// Encrypts contiguous bytes under a fresh random IV; returns `iv | ciphertext`.
    public func encrypt(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
        output.makeArray(capacity: Self.encryptedCount(plaintextCount: plaintext.count)) { base in
            ivSource.nextIV(into: base)
            return Self.ivSize + contexts.encrypt(plaintext, iv: base, into: base + Self.ivSize)
        }
    }

    /// Encrypts with a caller-chosen IV: for known-answer tests only. Reusing an IV
    /// leaks which messages share a prefix.
    func encrypt(_ plaintext: [UInt8], iv: [UInt8]) -> [UInt8] {
        precondition(iv.count == Self.ivSize)
        return plaintext.withUnsafeBytes { input in
            [UInt8](unsafeUninitializedCapacity: Self.encryptedCount(plaintextCount: input.count)) { buffer, count in
                let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                iv.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: Self.ivSize) }
                count = Self.ivSize + contexts.encrypt(input, iv: base, into: base + Self.ivSize)
            }
        }
    }

    /// Decrypts `iv | ciphertext`. Throws ``CryptoError/decryptionFailed`` when the input
    /// is too short, not whole blocks, or badly padded. Without a MAC this cannot detect
    /// tampering; a wrong padding is only the most visible symptom.
    @inlinable
    public func decrypt<Message: Collection>(_ message: Message) throws(CryptoError) -> [UInt8] where Message.Element == UInt8 {
        let result: Result<[UInt8], CryptoError>
        if let contiguous = message.withContiguousStorageIfAvailable({ decryptResult(UnsafeRawBufferPointer($0)) }) {
            result = contiguous
        } else {
            result = Array(message).withUnsafeBytes { decryptResult($0) }
        }
        return try result.get()
    }

    /// Decrypts contiguous `iv | ciphertext` bytes.
    public func decrypt(_ message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        try decryptResult(message).get()
    }

    @usableFromInline
    func decryptResult(_ message: UnsafeRawBufferPointer) -> Result<[UInt8], CryptoError> {
        let ciphertextCount = message.count - Self.ivSize
        guard ciphertextCount >= AESCBCContexts.blockSize, ciphertextCount % AESCBCContexts.blockSize == 0,
              let base = message.baseAddress
        else { return .failure(.decryptionFailed) }
        let ciphertext = UnsafeRawBufferPointer(start: base + Self.ivSize, count: ciphertextCount)
        let plaintext = output.makeSecretArray(capacity: ciphertextCount) { buffer in
            contexts.decrypt(ciphertext, iv: base, into: buffer)
        }
        return plaintext.map { .success($0) } ?? .failure(.decryptionFailed)
    }
}

/// The original design's name for ``AESCBCCipher``, kept for code ported from it.
public typealias GPUCrypto = AESCBCCipher
