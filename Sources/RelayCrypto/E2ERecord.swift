/// The end-to-end record of PROTOCOL.md section 7.3:
/// `record = 0x02 | seq:u64 | iv[16] | ct | tag[32]`, `ct = AES-256-CBC(enc key, iv, PKCS7(kind | content))`,
/// `tag = HMAC-SHA256(mac key, 0x02 | seq | iv | ct)`.
public enum E2ERecord {
    /// The first byte of every record.
    public static let typeByte: UInt8 = 0x02
    /// Type byte and sequence number: the part before the IV.
    static let headerCount = 1 + 8
    /// Bytes a record adds around the padded ciphertext: 57.
    public static let framingOverhead = headerCount + EncryptThenMAC.ivSize + EncryptThenMAC.tagSize
    /// The shortest record: the kind byte alone pads to one block (73 bytes).
    public static let minimumCount = framingOverhead + EncryptThenMAC.blockSize

    /// The length of a record carrying `contentCount` bytes of content.
    public static func count(contentCount: Int) -> Int {
        EncryptThenMAC.messageCount(headerCount: headerCount, plaintextCount: contentCount + 1)
    }
}

/// What a record carries (its first plaintext byte).
public enum E2ERecordKind: UInt8, Sendable, CaseIterable {
    /// One line of UTF-8 without its newline.
    case chat = 0x00
    /// Stream bytes (pipe mode).
    case stream = 0x01
    /// Empty content: the sender will send nothing more.
    case end = 0x02
    /// The sender's identity (``E2EIdentity``), its record seq 0.
    case identity = 0x03
}

/// An authentic record, opened. The caller checks ``sequenceNumber`` against what it
/// expects (or uses ``E2ERecordReceiver``) and handles unknown kinds.
public struct E2EOpenedRecord: Equatable, Sendable {
    /// The record's seq, authenticated but not yet compared with the expected one.
    public let sequenceNumber: UInt64
    /// The kind byte as sent; ``kind`` is nil when it is not one this version knows.
    public let kindByte: UInt8
    /// The content after the kind byte (possibly empty).
    public let content: [UInt8]

    /// The kind, or nil for an unknown kind byte (refused and reported; the session goes on).
    public var kind: E2ERecordKind? { E2ERecordKind(rawValue: kindByte) }
}

/// Why a sealer refused to seal.
public enum E2ESealError: Error, Equatable, Sendable {
    /// The direction's sequence numbers are used up: a sender never wraps seq, so the
    /// session must end (after 2^64 - 1 records).
    case sequenceExhausted
}
