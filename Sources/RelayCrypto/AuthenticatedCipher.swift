/// The sealed-message format of protocol v1 (PROTOCOL.md section 3): AES-256-CBC with
/// PKCS7 and a fresh random IV, then HMAC-SHA256 over `version | iv | ciphertext`
/// (encrypt-then-MAC), with both keys derived from the session key by HKDF-SHA256.
///
/// `sealed = 0x01 | iv[16] | ciphertext | tag[32]`. Opening checks the tag in constant
/// time before any decryption and fails with one error, ``OpenError/authenticationFailed``,
/// for every cause. Not thread-safe: use one instance per thread.
public final class AuthenticatedCipher {
    /// The session key length in bytes.
    public static let keySize = 32
    /// The format's version byte, the first byte of every sealed message.
    public static let version: UInt8 = 0x01
    /// Bytes a sealed message adds around the padded ciphertext: version, IV and tag.
    public static let framingOverhead = 1 + ivSize + HMACSHA256.tagSize
    /// The shortest valid sealed message: an empty plaintext pads to one block.
    public static let minimumSealedCount = framingOverhead + AESCBCContexts.blockSize

    static let ivSize = 16
    static let encryptionInfo = Array("relay v1 aes-256-cbc".utf8)
    static let authenticationInfo = Array("relay v1 hmac-sha256".utf8)

    /// The AES-CBC and HMAC contexts, IV source and output buffers (shared with the
    /// end-to-end records of section 7.3).
    private let core: EncryptThenMAC

    /// Derives the encryption and MAC keys from a 32-byte session key; any other length
    /// throws ``CryptoError/invalidKeyLength(_:)``.
    public init<Key: Collection>(sessionKey: Key) throws(CryptoError) where Key.Element == UInt8 {
        guard sessionKey.count == Self.keySize else { throw .invalidKeyLength(sessionKey.count) }
        let session = SecureBytes(count: Self.keySize)
        UnsafeMutableRawBufferPointer(start: session.pointer, count: Self.keySize).copyBytes(from: sessionKey)
        let encryptionKey = SecureBytes(count: 32)
        let authenticationKey = SecureBytes(count: 32)
        session.withUnsafeBytes { ikm in
            HKDF.derive(inputKeyMaterial: ikm, info: Self.encryptionInfo,
                        into: UnsafeMutableRawBufferPointer(start: encryptionKey.pointer, count: 32))
            HKDF.derive(inputKeyMaterial: ikm, info: Self.authenticationInfo,
                        into: UnsafeMutableRawBufferPointer(start: authenticationKey.pointer, count: 32))
        }
        core = encryptionKey.withUnsafeBytes { encryption in
            authenticationKey.withUnsafeBytes { EncryptThenMAC(encryptionKey: encryption, authenticationKey: $0) }
        }
    }

    /// The length of a sealed message for a plaintext of `plaintextCount` bytes.
    public static func sealedCount(plaintextCount: Int) -> Int {
        framingOverhead + AESCBCContexts.ciphertextCount(plaintextCount: plaintextCount)
    }

    /// Seals `plaintext` (any bytes, possibly empty) under a fresh random IV.
    @inlinable
    public func seal<Plaintext: Collection>(_ plaintext: Plaintext) -> [UInt8] where Plaintext.Element == UInt8 {
        if let sealed = plaintext.withContiguousStorageIfAvailable({ seal(UnsafeRawBufferPointer($0)) }) {
            return sealed
        }
        return Array(plaintext).withUnsafeBytes { seal($0) }
    }

    /// Seals contiguous bytes under a fresh random IV.
    public func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
        core.output.makeArray(capacity: Self.sealedCount(plaintextCount: plaintext.count)) { base in
            seal(plaintext, into: base, iv: nil)
        }
    }

    /// Appends the sealed form of `plaintext` to `output`, so that a caller can put a
    /// frame header in front without another copy.
    public func seal(_ plaintext: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let start = output.count
        let sealedCount = Self.sealedCount(plaintextCount: plaintext.count)
        output.append(contentsOf: repeatElement(0, count: sealedCount))
        output.withUnsafeMutableBytes { buffer in
            _ = seal(plaintext, into: buffer.baseAddress! + start, iv: nil)
        }
    }

    /// Seals with a caller-chosen IV: for known-answer tests only.
    func seal(_ plaintext: [UInt8], iv: [UInt8]) -> [UInt8] {
        precondition(iv.count == Self.ivSize)
        return plaintext.withUnsafeBytes { input in
            iv.withUnsafeBytes { ivBytes in
                [UInt8](unsafeUninitializedCapacity: Self.sealedCount(plaintextCount: input.count)) { buffer, count in
                    count = seal(input, into: UnsafeMutableRawPointer(buffer.baseAddress!), iv: ivBytes.baseAddress!)
                }
            }
        }
    }

    /// The one function that builds a sealed message; returns its length.
    private func seal(_ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, iv: UnsafeRawPointer?) -> Int {
        output.storeBytes(of: Self.version, as: UInt8.self)
        return core.seal(plaintext, prefix: nil, headerCount: 1, into: output, iv: iv)
    }

    /// Opens a sealed message. Throws ``OpenError/authenticationFailed`` for every
    /// failure; decryption runs only on a message whose tag is correct.
    @inlinable
    public func open<Sealed: Collection>(_ sealed: Sealed) throws(OpenError) -> [UInt8] where Sealed.Element == UInt8 {
        let result: [UInt8]?
        if let contiguous = sealed.withContiguousStorageIfAvailable({ openOrNil(UnsafeRawBufferPointer($0)) }) {
            result = contiguous
        } else {
            result = Array(sealed).withUnsafeBytes { openOrNil($0) }
        }
        guard let result else { throw .authenticationFailed }
        return result
    }

    /// Opens a contiguous sealed message; see ``open(_:)-(Collection)``.
    public func open(_ sealed: UnsafeRawBufferPointer) throws(OpenError) -> [UInt8] {
        guard let result = openOrNil(sealed) else { throw .authenticationFailed }
        return result
    }

    /// The checks of PROTOCOL.md section 3, in its order; nil for any failure.
    @usableFromInline
    func openOrNil(_ sealed: UnsafeRawBufferPointer) -> [UInt8]? {
        guard sealed.count >= Self.minimumSealedCount, sealed.baseAddress != nil,
              sealed[0] == Self.version
        else { return nil }
        let ciphertextCount = sealed.count - Self.framingOverhead
        guard ciphertextCount % AESCBCContexts.blockSize == 0, core.isAuthentic(sealed) else { return nil }
        return core.output.makeSecretArray(capacity: ciphertextCount) { buffer in
            core.decrypt(sealed, headerCount: 1, into: buffer)
        }
    }
}
