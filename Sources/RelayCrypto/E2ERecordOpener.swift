/// Opens the records of one direction (PROTOCOL.md section 7.3). Stateless apart from
/// its keys: it checks and decrypts but advances nothing. Not thread-safe.
public final class E2ERecordOpener {
    private let core: EncryptThenMAC

    /// Keys from ``E2EKeySchedule/makeOpener(for:)``; both 32 bytes.
    init(encryptionKey: UnsafeRawBufferPointer, authenticationKey: UnsafeRawBufferPointer) {
        core = EncryptThenMAC(encryptionKey: encryptionKey, authenticationKey: authenticationKey)
    }

    /// Opens a record: length at least 73 with `(length - 57)` a multiple of 16, first byte
    /// 0x02, tag equal in constant time, and only then decryption, PKCS7 and a kind byte.
    /// Every failure throws the one ``OpenError/authenticationFailed``. An unknown kind is
    /// not a failure: see ``E2EOpenedRecord/kind``.
    @inlinable
    public func open<Record: Collection>(_ record: Record) throws(OpenError) -> E2EOpenedRecord where Record.Element == UInt8 {
        let result: E2EOpenedRecord?
        if let contiguous = record.withContiguousStorageIfAvailable({ openOrNil(UnsafeRawBufferPointer($0)) }) {
            result = contiguous
        } else {
            result = Array(record).withUnsafeBytes { openOrNil($0) }
        }
        guard let result else { throw .authenticationFailed }
        return result
    }

    /// Opens a contiguous record; see ``open(_:)-(Collection)``.
    public func open(_ record: UnsafeRawBufferPointer) throws(OpenError) -> E2EOpenedRecord {
        guard let result = openOrNil(record) else { throw .authenticationFailed }
        return result
    }

    /// The checks of section 7.3, in its order; nil for any failure.
    @usableFromInline
    func openOrNil(_ record: UnsafeRawBufferPointer) -> E2EOpenedRecord? {
        guard record.count >= E2ERecord.minimumCount,
              (record.count - E2ERecord.framingOverhead) % EncryptThenMAC.blockSize == 0,
              record[0] == E2ERecord.typeByte,
              core.isAuthentic(record)
        else { return nil }
        let sequenceNumber = UInt64(bigEndian: record.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        let ciphertextCount = record.count - E2ERecord.framingOverhead
        guard let (kind, content) = core.output.makeSecretArraySplittingFirstByte(capacity: ciphertextCount, { buffer in
            core.decrypt(record, headerCount: E2ERecord.headerCount, into: buffer)
        }) else { return nil }
        return E2EOpenedRecord(sequenceNumber: sequenceNumber, kindByte: kind, content: content)
    }
}

/// Why ``E2ERecordReceiver`` refused a record.
public enum E2EReceiveError: Error, Equatable, Sendable {
    /// The one indistinguishable error: not an authentic record of this direction. It is
    /// refused and reported and advances nothing; the session goes on.
    case authenticationFailed
    /// An authentic record whose seq is not the next expected one: the relay dropped,
    /// replayed or reordered records. The session must end (exit status 3).
    case unexpectedSequenceNumber(expected: UInt64, received: UInt64)
}

/// One receiving direction: an opener and the count of records accepted so far, which
/// the next record's seq must equal. Not thread-safe.
public final class E2ERecordReceiver {
    private let opener: E2ERecordOpener
    /// The seq the next record must carry: the number of records accepted.
    public private(set) var expectedSequenceNumber: UInt64 = 0

    /// Receives with `opener` (``E2EKeySchedule/makeOpener(for:)``), expecting seq 0 first.
    public init(opener: E2ERecordOpener) {
        self.opener = opener
    }

    /// Starting elsewhere than seq 0: for tests.
    init(opener: E2ERecordOpener, expectedSequenceNumber: UInt64) {
        self.opener = opener
        self.expectedSequenceNumber = expectedSequenceNumber
    }

    /// Opens `record` and checks its seq; on success the expected seq advances by one,
    /// whatever the kind (an unknown kind was still sent, and numbered, by the peer).
    public func receive<Record: Collection>(_ record: Record) throws(E2EReceiveError) -> E2EOpenedRecord
    where Record.Element == UInt8 {
        let opened: E2EOpenedRecord
        do {
            opened = try opener.open(record)
        } catch {
            throw .authenticationFailed
        }
        // seq UInt64.max is never sent (senders stop before it), so it is never expected.
        guard opened.sequenceNumber == expectedSequenceNumber, expectedSequenceNumber < UInt64.max else {
            throw .unexpectedSequenceNumber(expected: expectedSequenceNumber, received: opened.sequenceNumber)
        }
        expectedSequenceNumber += 1
        return opened
    }
}
