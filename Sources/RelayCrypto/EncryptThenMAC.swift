/// AES-256-CBC then HMAC-SHA256 over everything before the tag: the machinery shared by
/// the sealed message of PROTOCOL.md section 3 (`0x01 | iv | ct | tag`) and the end-to-end
/// record of section 7.3 (`0x02 | seq | iv | ct | tag`). Both are
/// `header | iv[16] | ciphertext | tag[32]`; the owner writes and checks its header.
/// Not thread-safe: one per thread.
final class EncryptThenMAC {
    static let ivSize = 16
    static let tagSize = HMACSHA256.tagSize
    static let blockSize = AESCBCContexts.blockSize

    private let cipher: AESCBCContexts
    private let mac: HMACSHA256
    private let ivSource = RandomIVSource()
    /// Builds the owner's result arrays.
    let output = OutputArrayBuilder()

    /// Keys both contexts; the keys must be 32 bytes (the callers derive them).
    init(encryptionKey: UnsafeRawBufferPointer, authenticationKey: UnsafeRawBufferPointer) {
        cipher = AESCBCContexts(key: encryptionKey)
        mac = HMACSHA256(key: authenticationKey)
    }

    /// The length of a message with a `headerCount`-byte header and `plaintextCount`
    /// bytes of plaintext (a prefix byte included).
    @inline(__always)
    static func messageCount(headerCount: Int, plaintextCount: Int) -> Int {
        headerCount + ivSize + AESCBCContexts.ciphertextCount(plaintextCount: plaintextCount) + tagSize
    }

    /// Writes `iv | ciphertext | tag` after the `headerCount` header bytes the caller has
    /// already written at `message`; `prefix`, when given, is encrypted in front of
    /// `plaintext`. `iv` nil means a fresh random IV (non-nil: known-answer tests only).
    /// Returns the message's length.
    @inline(__always)
    func seal(_ plaintext: UnsafeRawBufferPointer, prefix: UInt8?, headerCount: Int,
              into message: UnsafeMutableRawPointer, iv: UnsafeRawPointer?) -> Int {
        let ivPointer = message + headerCount
        if let iv {
            ivPointer.copyMemory(from: iv, byteCount: Self.ivSize)
        } else {
            ivSource.nextIV(into: ivPointer)
        }
        let ciphertextCount = cipher.encrypt(plaintext, prefix: prefix, iv: ivPointer, into: ivPointer + Self.ivSize)
        let authenticated = headerCount + Self.ivSize + ciphertextCount
        mac.authenticate(UnsafeRawBufferPointer(start: message, count: authenticated), into: message + authenticated)
        return authenticated + Self.tagSize
    }

    /// True when the last 32 bytes of `message` are the tag of the bytes before them,
    /// compared in constant time. The caller has checked that `message` holds more than a tag.
    @inline(__always)
    func isAuthentic(_ message: UnsafeRawBufferPointer) -> Bool {
        guard message.count > Self.tagSize, let base = message.baseAddress else { return false }
        let authenticatedCount = message.count - Self.tagSize
        var expectedTag = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &expectedTag) { tag -> Bool in
            mac.authenticate(UnsafeRawBufferPointer(start: base, count: authenticatedCount), into: tag.baseAddress!)
            return ConstantTime.equal(tag.baseAddress!, base + authenticatedCount, count: Self.tagSize)
        }
    }

    /// Decrypts the ciphertext of an authenticated `message` (whose header is
    /// `headerCount` bytes) into `plaintext`, which must hold the ciphertext's length.
    /// Returns the plaintext length, or nil when the padding is wrong.
    @inline(__always)
    func decrypt(_ message: UnsafeRawBufferPointer, headerCount: Int, into plaintext: UnsafeMutableRawPointer) -> Int? {
        let ciphertextCount = message.count - headerCount - Self.ivSize - Self.tagSize
        guard ciphertextCount > 0, let base = message.baseAddress else { return nil }
        let ivPointer = base + headerCount
        return cipher.decrypt(UnsafeRawBufferPointer(start: ivPointer + Self.ivSize, count: ciphertextCount),
                              iv: ivPointer, into: plaintext)
    }
}
