/// Seals the records of one direction (PROTOCOL.md section 7.3), numbering them from 0.
/// Not thread-safe: one per sending side.
public final class E2ERecordSealer {
    private let core: EncryptThenMAC
    /// The seq the next record gets. It never wraps: at `UInt64.max` sealing throws.
    public internal(set) var nextSequenceNumber: UInt64 = 0

    /// Keys from ``E2EKeySchedule/makeSealer(for:)``; both 32 bytes.
    init(encryptionKey: UnsafeRawBufferPointer, authenticationKey: UnsafeRawBufferPointer) {
        core = EncryptThenMAC(encryptionKey: encryptionKey, authenticationKey: authenticationKey)
    }

    /// Seals `content` as the next record, under a fresh random IV.
    @inlinable
    public func seal<Content: Collection>(_ kind: E2ERecordKind, content: Content) throws(E2ESealError) -> [UInt8]
    where Content.Element == UInt8 {
        let result: Result<[UInt8], E2ESealError>
        if let contiguous = content.withContiguousStorageIfAvailable({ sealResult(kind.rawValue, UnsafeRawBufferPointer($0), iv: nil) }) {
            result = contiguous
        } else {
            result = Array(content).withUnsafeBytes { sealResult(kind.rawValue, $0, iv: nil) }
        }
        return try result.get()
    }

    /// Seals contiguous `content` as the next record, under a fresh random IV.
    public func seal(_ kind: E2ERecordKind, content: UnsafeRawBufferPointer) throws(E2ESealError) -> [UInt8] {
        try sealResult(kind.rawValue, content, iv: nil).get()
    }

    /// Seals any kind byte with a caller-chosen IV: for known-answer and refusal tests only.
    func seal(kindByte: UInt8, content: [UInt8], iv: [UInt8]) throws(E2ESealError) -> [UInt8] {
        precondition(iv.count == EncryptThenMAC.ivSize)
        return try content.withUnsafeBytes { contentBytes in
            iv.withUnsafeBytes { sealResult(kindByte, contentBytes, iv: $0.baseAddress) }
        }.get()
    }

    @usableFromInline
    func sealResult(_ kindByte: UInt8, _ content: UnsafeRawBufferPointer, iv: UnsafeRawPointer?) -> Result<[UInt8], E2ESealError> {
        guard nextSequenceNumber < UInt64.max else { return .failure(.sequenceExhausted) }
        let sequenceNumber = nextSequenceNumber
        let record = core.output.makeArray(capacity: E2ERecord.count(contentCount: content.count)) { base in
            base.storeBytes(of: E2ERecord.typeByte, as: UInt8.self)
            base.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: 1, as: UInt64.self)
            return core.seal(content, prefix: kindByte, headerCount: E2ERecord.headerCount, into: base, iv: iv)
        }
        nextSequenceNumber += 1
        return .success(record)
    }
}
