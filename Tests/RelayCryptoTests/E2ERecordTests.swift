import Testing
@testable import RelayCrypto

/// End-to-end records (PROTOCOL.md section 7.3): round trips, and every malformed or
/// tampered record refused with the one error, advancing nothing.
struct E2ERecordTests {
    /// A schedule from fixed inputs, both directions' keys known.
    static func makeSchedule() throws -> E2EKeySchedule {
        let initiator = try X25519PrivateKey(rawRepresentation: TestBytes.make(count: 32, seed: 0x11))
        let responder = try X25519PrivateKey(rawRepresentation: TestBytes.make(count: 32, seed: 0x22))
        return try E2EKeySchedule(
            sessionKey: TestBytes.make(count: 32, seed: 0x33), role: .initiator, ownName: Array("alice".utf8),
            peerName: Array("bob".utf8), ownKey: initiator, peerPublicKey: responder.publicKey)
    }

    let schedule: E2EKeySchedule
    init() throws { schedule = try Self.makeSchedule() }

    @Test("Round trip of every kind at sizes around the block and scratch boundaries",
          arguments: [0, 1, 14, 15, 16, 31, 1000, 1023, 1024, 1025, 70_000])
    func roundTrip(contentCount: Int) throws {
        let sealer = schedule.makeSealer(for: .initiatorToResponder)
        let receiver = E2ERecordReceiver(opener: schedule.makeOpener(for: .initiatorToResponder))
        for (index, kind) in E2ERecordKind.allCases.enumerated() {
            let content = TestBytes.make(count: contentCount, seed: UInt64(index))
            let record = try sealer.seal(kind, content: content)
            #expect(record.count == E2ERecord.count(contentCount: contentCount))
            #expect(record.count >= E2ERecord.minimumCount && (record.count - 57) % 16 == 0)
            #expect(record[0] == 0x02)
            let opened = try receiver.receive(record)
            #expect(opened.sequenceNumber == UInt64(index) && opened.kind == kind)
            #expect(ByteDiff.between(opened.content, content) == nil)
        }
        #expect(sealer.nextSequenceNumber == 4 && receiver.expectedSequenceNumber == 4)
    }

    @Test func constantsOfTheFormat() {
        #expect(E2ERecord.framingOverhead == 57)
        #expect(E2ERecord.minimumCount == 73)
        #expect(E2ERecord.count(contentCount: 0) == 73)
        // kind | 14 bytes fills one block but for padding; kind | 15 bytes pads to two.
        #expect(E2ERecord.count(contentCount: 14) == 73)
        #expect(E2ERecord.count(contentCount: 15) == 89)
    }

    @Test("Fresh IVs: the same content sealed twice differs")
    func freshIVs() throws {
        let sealer = schedule.makeSealer(for: .initiatorToResponder)
        let a = try sealer.seal(.chat, content: [1, 2, 3])
        let b = try sealer.seal(.chat, content: [1, 2, 3])
        #expect(a[9..<25] != b[9..<25])
    }

    @Test("Every bit of every byte flipped, one at a time", arguments: [0, 1, 15, 40])
    func everyBitFlipped(contentCount: Int) throws {
        let record = try schedule.makeSealer(for: .initiatorToResponder)
            .seal(.chat, content: TestBytes.make(count: contentCount, seed: 9))
        let opener = schedule.makeOpener(for: .initiatorToResponder)
        #expect(try opener.open(record).content.count == contentCount)
        for position in record.indices {
            for bit in 0..<8 {
                var tampered = record
                tampered[position] ^= 1 << bit
                #expect(throws: OpenError.authenticationFailed, "byte \(position) bit \(bit)") { try opener.open(tampered) }
            }
        }
    }

    @Test("Truncated by 1...100 bytes at either end, or extended by 1...48 bytes")
    func truncatedAndExtended() throws {
        let record = try schedule.makeSealer(for: .initiatorToResponder).seal(.chat, content: TestBytes.make(count: 40, seed: 3))
        let opener = schedule.makeOpener(for: .initiatorToResponder)
        for cut in 1...100 {
            #expect(throws: OpenError.authenticationFailed, "last \(cut) dropped") { try opener.open(record.dropLast(cut)) }
            #expect(throws: OpenError.authenticationFailed, "first \(cut) dropped") { try opener.open(record.dropFirst(cut)) }
        }
        for extra in 1...48 {
            #expect(throws: OpenError.authenticationFailed, "\(extra) bytes appended") {
                try opener.open(record + TestBytes.make(count: extra, seed: 4))
            }
        }
        #expect(throws: OpenError.authenticationFailed) { try opener.open([UInt8]()) }
    }

    @Test("Every other first byte, with the tag recomputed or not")
    func wrongFirstByte() throws {
        let record = try schedule.makeSealer(for: .initiatorToResponder).seal(.chat, content: [0x41])
        let opener = schedule.makeOpener(for: .initiatorToResponder)
        let forger = RecordForger(schedule: schedule, direction: .initiatorToResponder)
        for first in UInt8.min...UInt8.max where first != 0x02 {
            var tampered = record
            tampered[0] = first
            #expect(throws: OpenError.authenticationFailed, "first byte \(first)") { try opener.open(tampered) }
            let retagged = forger.retag(Array(tampered.dropLast(32)))
            #expect(throws: OpenError.authenticationFailed, "first byte \(first), retagged") { try opener.open(retagged) }
        }
    }

    @Test("Wrong keys: the other direction (reflection), another agreement, a section 3 message")
    func wrongKeys() throws {
        let i2r = try schedule.makeSealer(for: .initiatorToResponder).seal(.chat, content: [1, 2, 3])
        let r2i = try schedule.makeSealer(for: .responderToInitiator).seal(.chat, content: [1, 2, 3])
        #expect(throws: OpenError.authenticationFailed) { try schedule.makeOpener(for: .responderToInitiator).open(i2r) }
        #expect(throws: OpenError.authenticationFailed) { try schedule.makeOpener(for: .initiatorToResponder).open(r2i) }
        let other = try E2EKeySchedule(
            sessionKey: TestBytes.make(count: 32, seed: 0x34), role: .initiator, ownName: Array("alice".utf8),
            peerName: Array("bob".utf8), ownKey: X25519PrivateKey(), peerPublicKey: X25519PrivateKey().publicKey)
        #expect(throws: OpenError.authenticationFailed) { try other.makeOpener(for: .initiatorToResponder).open(i2r) }
        let sealed = try AuthenticatedCipher(sessionKey: TestBytes.make(count: 32, seed: 0x33)).seal(TestBytes.make(count: 24, seed: 1))
        #expect(throws: OpenError.authenticationFailed) { try schedule.makeOpener(for: .initiatorToResponder).open(sealed) }
    }

    @Test("Authentic tag but no kind byte, or bad padding: the one error")
    func authenticButMalformedPlaintext() throws {
        let forger = RecordForger(schedule: schedule, direction: .initiatorToResponder)
        let opener = schedule.makeOpener(for: .initiatorToResponder)
        // One block that is all padding: the plaintext is empty, with no kind byte.
        let empty = try forger.record(seq: 0, paddedPlaintext: [UInt8](repeating: 16, count: 16))
        #expect(throws: OpenError.authenticationFailed) { try opener.open(empty) }
        for badPad in [[UInt8](repeating: 0, count: 16), [UInt8](repeating: 17, count: 16), [0] + [UInt8](repeating: 2, count: 14) + [3]] {
            let record = try forger.record(seq: 0, paddedPlaintext: badPad)
            #expect(throws: OpenError.authenticationFailed, "padding \(badPad.suffix(2))") { try opener.open(record) }
        }
        // The forger itself makes acceptable records when the plaintext is well formed.
        let good = try forger.record(seq: 7, paddedPlaintext: [0x00, 0x41] + [UInt8](repeating: 14, count: 14))
        #expect(try opener.open(good) == E2EOpenedRecord(sequenceNumber: 7, kindByte: 0, content: [0x41]))
    }

    @Test("An unknown kind opens and is reported as unknown, not as a failure; it still counts")
    func unknownKind() throws {
        let sealer = schedule.makeSealer(for: .initiatorToResponder)
        let receiver = E2ERecordReceiver(opener: schedule.makeOpener(for: .initiatorToResponder))
        for kind: UInt8 in [0x04, 0x7F, 0xFF] {
            let record = try sealer.seal(kindByte: kind, content: [9], iv: TestBytes.make(count: 16, seed: UInt64(kind)))
            let opened = try receiver.receive(record)
            #expect(opened.kind == nil && opened.kindByte == kind && opened.content == [9])
        }
        #expect(receiver.expectedSequenceNumber == 3)
    }

    @Test("The receiver: a refused record advances nothing; a wrong seq is reported with both numbers")
    func receiverSequence() throws {
        let sealer = schedule.makeSealer(for: .initiatorToResponder)
        let receiver = E2ERecordReceiver(opener: schedule.makeOpener(for: .initiatorToResponder))
        let first = try sealer.seal(.identity, content: [1])
        let second = try sealer.seal(.chat, content: [2])
        #expect(throws: E2EReceiveError.unexpectedSequenceNumber(expected: 0, received: 1)) { try receiver.receive(second) }
        var tampered = first
        tampered[30] ^= 1
        #expect(throws: E2EReceiveError.authenticationFailed) { try receiver.receive(tampered) }
        #expect(receiver.expectedSequenceNumber == 0)
        #expect(try receiver.receive(first).sequenceNumber == 0)
        #expect(throws: E2EReceiveError.unexpectedSequenceNumber(expected: 1, received: 0)) { try receiver.receive(first) }
        #expect(try receiver.receive(second).sequenceNumber == 1)
        #expect(receiver.expectedSequenceNumber == 2)
    }

    @Test("seq never wraps: the sealer refuses at UInt64.max, the receiver never expects it")
    func sequenceNeverWraps() throws {
        let sealer = schedule.makeSealer(for: .initiatorToResponder)
        sealer.nextSequenceNumber = UInt64.max - 1
        let last = try sealer.seal(.chat, content: [1])
        #expect(sealer.nextSequenceNumber == UInt64.max)
        #expect(throws: E2ESealError.sequenceExhausted) { try sealer.seal(.chat, content: [2]) }
        #expect(throws: E2ESealError.sequenceExhausted) { try sealer.seal(.end, content: [UInt8]()) }
        #expect(sealer.nextSequenceNumber == UInt64.max)

        let opener = schedule.makeOpener(for: .initiatorToResponder)
        let receiver = E2ERecordReceiver(opener: opener, expectedSequenceNumber: UInt64.max - 1)
        #expect(try receiver.receive(last).sequenceNumber == UInt64.max - 1)
        // A record numbered UInt64.max (only a forger makes one) is not accepted either.
        let forged = try RecordForger(schedule: schedule, direction: .initiatorToResponder)
            .record(seq: UInt64.max, paddedPlaintext: [0x00] + [UInt8](repeating: 15, count: 15))
        #expect(try opener.open(forged).sequenceNumber == UInt64.max)
        #expect(throws: E2EReceiveError.unexpectedSequenceNumber(expected: UInt64.max, received: UInt64.max)) {
            try receiver.receive(forged)
        }
    }

    @Test("Agreement messages: anything but 0x03 | step 1...3 | 32 bytes is malformed")
    func agreementMessages() throws {
        let value = TestBytes.make(count: 32, seed: 5)
        for step in [E2EAgreementMessage.Step.commitment, .initiatorPublicKey, .responderPublicKey] {
            let message = try E2EAgreementMessage(step: step, value: value)
            #expect(message.encoded.count == 34 && message.encoded[0] == 0x03 && message.encoded[1] == step.rawValue)
            #expect(try E2EAgreementMessage(parsing: message.encoded) == message)
            #expect(throws: E2EAgreementError.malformedMessage) { try E2EAgreementMessage(parsing: message.encoded.dropLast()) }
            #expect(throws: E2EAgreementError.malformedMessage) { try E2EAgreementMessage(parsing: message.encoded + [0]) }
            for first in UInt8.min...UInt8.max where first != 0x03 {
                #expect(throws: E2EAgreementError.malformedMessage) {
                    try E2EAgreementMessage(parsing: [first] + message.encoded.dropFirst())
                }
            }
        }
        for step: UInt8 in [0x00, 0x04, 0xFF] {
            #expect(throws: E2EAgreementError.malformedMessage) { try E2EAgreementMessage(parsing: [0x03, step] + value) }
        }
        #expect(throws: E2EAgreementError.malformedMessage) { try E2EAgreementMessage(parsing: [UInt8]()) }
        #expect(throws: E2EAgreementError.invalidLength(31)) { try E2EAgreementMessage(step: .commitment, value: value.dropLast()) }
    }

    @Test("Transcript: names longer than 255 bytes and keys of the wrong length are refused")
    func transcriptInputs() {
        let key = [UInt8](repeating: 1, count: 32)
        #expect(throws: E2EAgreementError.nameTooLong(256)) {
            try E2EAgreement.transcript(initiatorName: [UInt8](repeating: 0x61, count: 256), responderName: [0x62],
                                        initiatorPublicKey: key, responderPublicKey: key)
        }
        #expect(throws: E2EAgreementError.invalidLength(31)) {
            try E2EAgreement.transcript(initiatorName: [0x61], responderName: [0x62],
                                        initiatorPublicKey: key, responderPublicKey: key.dropLast())
        }
    }

    @Test("Both sides of a fresh agreement get the same SAS and interoperating directions")
    func freshAgreement() throws {
        let k = SecureRandom.bytes(count: 32)
        let keyI = X25519PrivateKey()
        let keyR = X25519PrivateKey()
        let atI = try E2EKeySchedule(sessionKey: k, role: .initiator, ownName: Array("alice".utf8), peerName: Array("bob".utf8),
                                     ownKey: keyI, peerPublicKey: keyR.publicKey)
        let atR = try E2EKeySchedule(sessionKey: k, role: .responder, ownName: Array("bob".utf8), peerName: Array("alice".utf8),
                                     ownKey: keyR, peerPublicKey: keyI.publicKey)
        #expect(atI.sas == atR.sas && atI.transcript == atR.transcript)
        #expect(atI.sas.count == 7 && atI.sas.dropFirst(3).first == " ")
        let record = try atI.makeSealer(for: E2ERole.initiator.sendingDirection).seal(.chat, content: Array("hi".utf8))
        #expect(try atR.makeOpener(for: E2ERole.responder.receivingDirection).open(record).content == Array("hi".utf8))
        // Swapped names (a lying relay) give different keys.
        let lied = try E2EKeySchedule(sessionKey: k, role: .responder, ownName: Array("alice".utf8), peerName: Array("bob".utf8),
                                      ownKey: keyR, peerPublicKey: keyI.publicKey)
        #expect(lied.transcript != atI.transcript)
        #expect(throws: OpenError.authenticationFailed) { try lied.makeOpener(for: .initiatorToResponder).open(record) }
    }

    @Test("Sealers and openers made before wipe() keep working; the schedule's keys are zero after")
    func wipe() throws {
        let schedule = try Self.makeSchedule()
        let sealer = schedule.makeSealer(for: .initiatorToResponder)
        let opener = schedule.makeOpener(for: .initiatorToResponder)
        schedule.wipe()
        #expect(schedule.key(.i2rEncryption) == [UInt8](repeating: 0, count: 32))
        #expect(try opener.open(sealer.seal(.chat, content: [7])).content == [7])
    }
}

/// Builds records by hand from a schedule's direction keys, with a correct tag over
/// whatever plaintext a test chooses (one that the real sealer would never produce).
struct RecordForger {
    let encryptionKey: [UInt8]
    let authenticationKey: [UInt8]

    init(schedule: E2EKeySchedule, direction: E2EDirection) {
        switch direction {
        case .initiatorToResponder:
            encryptionKey = schedule.key(.i2rEncryption)
            authenticationKey = schedule.key(.i2rAuthentication)
        case .responderToInitiator:
            encryptionKey = schedule.key(.r2iEncryption)
            authenticationKey = schedule.key(.r2iAuthentication)
        }
    }

    /// `bytes | HMAC-SHA256(mac key, bytes)`.
    func retag(_ bytes: [UInt8]) -> [UInt8] {
        bytes + HMACSHA256(key: authenticationKey).authenticationCode(for: bytes)
    }

    /// `0x02 | seq | iv | CBC(paddedPlaintext) | tag`, the plaintext's padding as given.
    func record(seq: UInt64, paddedPlaintext: [UInt8]) throws -> [UInt8] {
        let iv = TestBytes.make(count: 16, seed: seq)
        let ciphertext = try MessageForger.encryptWithoutPadding(paddedPlaintext, key: encryptionKey, iv: iv)
        return retag([0x02] + withUnsafeBytes(of: seq.bigEndian, Array.init) + iv + ciphertext)
    }
}
