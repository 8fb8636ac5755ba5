import Foundation
import Testing
@testable import RelayCrypto

/// Every field of `Vectors/e2e-v1.json` (PROTOCOL.md section 7) reproduced: the agreement
/// messages, Z, T, PRK, every derived key and the SAS, from both sides; every record and
/// identity record sealed byte for byte and opened; the refusals; the key files.
struct E2EVectorTests {
    static func cases() throws -> [E2EVectorFile.Case] { try E2EVectorFile.load().cases }

    func direction(_ name: String) throws -> E2EDirection {
        switch name {
        case "i2r": .initiatorToResponder
        case "r2i": .responderToInitiator
        default: throw Hex.InvalidHex(text: "direction \(name)")
        }
    }

    /// The schedule as side `role` computes it, from its own secret and the peer's public key.
    func schedule(_ vector: E2EVectorFile.Case, as role: E2ERole) throws -> E2EKeySchedule {
        let inputs = vector.inputs
        let own = try X25519PrivateKey(rawRepresentation: Hex.decode(role == .initiator ? inputs.x25519SecretI : inputs.x25519SecretR))
        let peerKey = try Hex.decode(role == .initiator ? vector.agreement.pkR : vector.agreement.pkI)
        let (ownName, peerName) = role == .initiator ? (inputs.nameIHex, inputs.nameRHex) : (inputs.nameRHex, inputs.nameIHex)
        return try E2EKeySchedule(sessionKey: Hex.decode(inputs.sessionKey), role: role, ownName: Hex.decode(ownName),
                                  peerName: Hex.decode(peerName), ownKey: own, peerPublicKey: peerKey)
    }

    @Test func vectorFileHasItsCases() throws {
        let file = try E2EVectorFile.load()
        #expect(file.cases.count == 3)
        #expect(file.smallOrderPublicKeys.count == 7)
    }

    @Test func namesAreTheUTF8OfTheText() throws {
        for vector in try Self.cases() {
            #expect(Hex.encode(Array(vector.inputs.nameI.utf8)) == vector.inputs.nameIHex, "\(vector.name)")
            #expect(Hex.encode(Array(vector.inputs.nameR.utf8)) == vector.inputs.nameRHex, "\(vector.name)")
        }
    }

    @Test func publicKeysCommitmentAndMessages() throws {
        for vector in try Self.cases() {
            let a = vector.agreement
            let keyI = try X25519PrivateKey(rawRepresentation: Hex.decode(vector.inputs.x25519SecretI))
            let keyR = try X25519PrivateKey(rawRepresentation: Hex.decode(vector.inputs.x25519SecretR))
            #expect(Hex.encode(keyI.publicKey) == a.pkI, "\(vector.name)")
            #expect(Hex.encode(keyR.publicKey) == a.pkR, "\(vector.name)")
            #expect(Hex.encode(E2EAgreement.commitmentLabel + keyR.publicKey) == a.commitmentInput, "\(vector.name)")
            let commitment = try E2EAgreement.commitment(toResponderPublicKey: keyR.publicKey)
            #expect(Hex.encode(commitment) == a.commitment, "\(vector.name)")
            try E2EAgreement.verifyCommitment(commitment, responderPublicKey: keyR.publicKey)
            #expect(throws: E2EAgreementError.commitmentMismatch, "\(vector.name): wrongPkR") {
                try E2EAgreement.verifyCommitment(commitment, responderPublicKey: Hex.decode(a.wrongPkR))
            }

            let messages = [(E2EAgreementMessage.Step.commitment, commitment, a.msg1),
                            (.initiatorPublicKey, keyI.publicKey, a.msg2), (.responderPublicKey, keyR.publicKey, a.msg3)]
            for (step, value, expected) in messages {
                let message = try E2EAgreementMessage(step: step, value: value)
                #expect(Hex.encode(message.encoded) == expected, "\(vector.name): step \(step)")
                #expect(try E2EAgreementMessage(parsing: Hex.decode(expected)) == message, "\(vector.name): step \(step)")
            }
        }
    }

    @Test func sharedSecretAndTranscript() throws {
        for vector in try Self.cases() {
            let a = vector.agreement
            let keyI = try X25519PrivateKey(rawRepresentation: Hex.decode(vector.inputs.x25519SecretI))
            let keyR = try X25519PrivateKey(rawRepresentation: Hex.decode(vector.inputs.x25519SecretR))
            #expect(Hex.encode(try keyI.sharedSecret(with: Hex.decode(a.pkR)).withUnsafeBytes { Array($0) }) == a.Z)
            #expect(Hex.encode(try keyR.sharedSecret(with: Hex.decode(a.pkI)).withUnsafeBytes { Array($0) }) == a.Z)
            let transcript = try E2EAgreement.transcript(
                initiatorName: Array(vector.inputs.nameI.utf8), responderName: Array(vector.inputs.nameR.utf8),
                initiatorPublicKey: Hex.decode(a.pkI), responderPublicKey: Hex.decode(a.pkR))
            #expect(Hex.encode(transcript) == a.T, "\(vector.name)")
            #expect(Hex.encode(SHA256Hash.hash(try Hex.decode(a.transcriptInput))) == a.T, "\(vector.name): transcriptInput")
            #expect(Hex.encode(E2EKeySchedule.Label.i2rEncryption.info + transcript) == a.infoI2REnc, "\(vector.name)")
        }
    }

    @Test("PRK, every key and the SAS, as each side computes them", arguments: [E2ERole.initiator, .responder])
    func keySchedule(role: E2ERole) throws {
        for vector in try Self.cases() {
            let k = vector.keys
            let schedule = try schedule(vector, as: role)
            #expect(Hex.encode(schedule.transcript) == vector.agreement.T, "\(vector.name)")
            let prk = HKDF.extract(salt: try Hex.decode(vector.inputs.sessionKey), inputKeyMaterial: try Hex.decode(vector.agreement.Z))
            #expect(Hex.encode(prk) == k.PRK, "\(vector.name)")
            #expect(Hex.encode(schedule.key(.i2rEncryption)) == k.i2rEnc, "\(vector.name)")
            #expect(Hex.encode(schedule.key(.i2rAuthentication)) == k.i2rMac, "\(vector.name)")
            #expect(Hex.encode(schedule.key(.r2iEncryption)) == k.r2iEnc, "\(vector.name)")
            #expect(Hex.encode(schedule.key(.r2iAuthentication)) == k.r2iMac, "\(vector.name)")
            #expect(Hex.encode(schedule.key(.sas)) == k.sasKey, "\(vector.name)")
            #expect(schedule.sasNumber == k.sasNumber, "\(vector.name)")
            #expect(schedule.sas == k.sas, "\(vector.name)")
        }
    }

    @Test func everyRecordSealedAndOpened() throws {
        for vector in try Self.cases() {
            let schedule = try schedule(vector, as: .initiator)
            for record in vector.records {
                let direction = try direction(record.direction)
                let sealer = schedule.makeSealer(for: direction)
                sealer.nextSequenceNumber = record.seq
                let content = try Hex.decode(record.content)
                #expect(Hex.encode([record.kind] + content) == record.plaintext)
                if let text = record.contentText { #expect(Array(text.utf8) == content) }
                let sealed = try sealer.seal(kindByte: record.kind, content: content, iv: Hex.decode(record.iv))
                #expect(Hex.encode(sealed) == record.record, "\(vector.name): \(record.direction) seq \(record.seq)")
                #expect(sealer.nextSequenceNumber == record.seq + 1)
                #expect(sealed.count == E2ERecord.count(contentCount: content.count))

                let opened = try schedule.makeOpener(for: direction).open(Hex.decode(record.record))
                #expect(opened == E2EOpenedRecord(sequenceNumber: record.seq, kindByte: record.kind, content: content))
                #expect(opened.kind != nil)
            }
        }
    }

    @Test("Identity records: idPub, signed message, signature, content, record, fingerprint")
    func identityRecords() throws {
        for vector in try Self.cases() {
            let schedule = try schedule(vector, as: .responder)
            for identity in vector.identity {
                let role: E2ERole = identity.signer == "I" ? .initiator : .responder
                let seed = role == .initiator ? vector.inputs.ed25519SeedI : vector.inputs.ed25519SeedR
                let key = try Ed25519PrivateKey(seed: Hex.decode(seed))
                #expect(Hex.encode(key.publicKey.rawRepresentation) == identity.idPub, "\(vector.name) \(identity.signer)")
                #expect(Hex.encode(E2EIdentity.signedMessage(role: role, transcript: schedule.transcript)) == identity.signedMessage)
                let content = E2EIdentity.content(identityKey: key, role: role, transcript: schedule.transcript)
                #expect(Hex.encode(content) == identity.content, "\(vector.name) \(identity.signer)")
                #expect(Hex.encode(content.suffix(64)) == identity.signature)
                #expect(key.publicKey.fingerprint == identity.fingerprint)
                #expect(E2EIdentity.fingerprint(identityPublicKey: key.publicKey.rawRepresentation) == identity.fingerprint)

                let direction = try direction(identity.direction)
                #expect(direction == role.sendingDirection)
                #expect(identity.seq == 0 && identity.kind == E2ERecordKind.identity.rawValue)
                let sealer = schedule.makeSealer(for: direction)
                let record = try sealer.seal(kindByte: identity.kind, content: content, iv: Hex.decode(identity.iv))
                #expect(Hex.encode(record) == identity.record, "\(vector.name) \(identity.signer)")

                let receiver = E2ERecordReceiver(opener: schedule.makeOpener(for: direction))
                let opened = try receiver.receive(Hex.decode(identity.record))
                #expect(opened.kind == .identity && opened.sequenceNumber == 0)
                let verified = try E2EIdentity.verify(opened.content, signerRole: role, transcript: schedule.transcript)
                #expect(Hex.encode(verified.rawRepresentation) == identity.idPub)
                // Signed in the other role, or over another transcript: refused.
                #expect(throws: E2EIdentityError.verificationFailed) {
                    try E2EIdentity.verify(opened.content, signerRole: role.peer, transcript: schedule.transcript)
                }
                #expect(throws: E2EIdentityError.verificationFailed) {
                    try E2EIdentity.verify(opened.content, signerRole: role, transcript: SHA256Hash.hash(schedule.transcript))
                }
                #expect(throws: E2EIdentityError.verificationFailed) {
                    try E2EIdentity.verify(opened.content.dropLast(), signerRole: role, transcript: schedule.transcript)
                }
            }
        }
    }

    @Test("mustRefuse: each record gives the error class the vectors name")
    func mustRefuse() throws {
        for vector in try Self.cases() {
            let schedule = try schedule(vector, as: .initiator)
            for refusal in vector.mustRefuse {
                let receiver = E2ERecordReceiver(
                    opener: schedule.makeOpener(for: try direction(refusal.direction)), expectedSequenceNumber: refusal.expectedSeq)
                let record = try Hex.decode(refusal.record)
                switch refusal.error {
                case "auth":
                    #expect(throws: E2EReceiveError.authenticationFailed, "\(vector.name): \(refusal.what)") {
                        try receiver.receive(record)
                    }
                case "seq":
                    let received = UInt64(bigEndian: record.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 1, as: UInt64.self) })
                    #expect(throws: E2EReceiveError.unexpectedSequenceNumber(expected: refusal.expectedSeq, received: received),
                            "\(vector.name): \(refusal.what)") { try receiver.receive(record) }
                default:
                    Issue.record("unknown error class \(refusal.error) in \(refusal.what)")
                }
                #expect(receiver.expectedSequenceNumber == refusal.expectedSeq, "\(vector.name): \(refusal.what) advanced")
            }
        }
    }

    @Test func smallOrderPublicKeysAbortTheAgreement() throws {
        let file = try E2EVectorFile.load()
        for vector in file.cases {
            for point in file.smallOrderPublicKeys {
                #expect(throws: E2EKeyScheduleError.keyAgreement(.allZeroSharedSecret), "\(vector.name) \(point)") {
                    try E2EKeySchedule(
                        sessionKey: Hex.decode(vector.inputs.sessionKey), role: .initiator,
                        ownName: Hex.decode(vector.inputs.nameIHex), peerName: Hex.decode(vector.inputs.nameRHex),
                        ownKey: X25519PrivateKey(rawRepresentation: Hex.decode(vector.inputs.x25519SecretI)),
                        peerPublicKey: Hex.decode(point))
                }
            }
        }
    }

    @Test("Identity key files: the PEM reads back to the seed's key, and writing gives the same bytes")
    func identityKeyFiles() throws {
        for vector in try Self.cases() {
            for (pem, seed) in [(vector.files.identityKeyPemI, vector.inputs.ed25519SeedI),
                                (vector.files.identityKeyPemR, vector.inputs.ed25519SeedR)] {
                let fromSeed = try Ed25519PrivateKey(seed: Hex.decode(seed))
                let loaded = try Ed25519PrivateKey(pemRepresentation: Array(pem.utf8))
                #expect(loaded.publicKey.rawRepresentation == fromSeed.publicKey.rawRepresentation, "\(vector.name)")
                #expect(fromSeed.withPEMRepresentation { Array($0) } == Array(pem.utf8), "\(vector.name)")
            }
        }
    }

    /// The lines of sections 7.4 and 7.5 are the client's to print; the crypto parts in
    /// them (names, keys, fingerprints, SAS) must be the ones computed here.
    @Test func knownPeersAndDisplayLinesCarryTheseValues() throws {
        for vector in try Self.cases() {
            let schedule = try schedule(vector, as: .initiator)
            let idI = try Ed25519PrivateKey(seed: Hex.decode(vector.inputs.ed25519SeedI)).publicKey
            let idR = try Ed25519PrivateKey(seed: Hex.decode(vector.inputs.ed25519SeedR)).publicKey
            let relay = vector.files.relay
            #expect(vector.files.knownPeersLineAtI
                    == "\(relay) \(vector.inputs.nameRHex) ed25519:\(Hex.encode(idR.rawRepresentation))")
            #expect(vector.files.knownPeersLineAtR
                    == "\(relay) \(vector.inputs.nameIHex) ed25519:\(Hex.encode(idI.rawRepresentation))")
            let d = vector.display
            #expect(d.sasLineAtI == "* SAS with \(vector.inputs.nameR) (agreement 1): \(schedule.sas)")
            #expect(d.sasLineAtR == "* SAS with \(vector.inputs.nameI) (agreement 1): \(schedule.sas)")
            #expect(d.verifiedLineAtI == "* \(vector.inputs.nameR) is verified (\(idR.fingerprint))")
            #expect(d.verifiedLineAtR == "* \(vector.inputs.nameI) is verified (\(idI.fingerprint))")
            #expect(d.notVerifiedLineAtI == "* \(vector.inputs.nameR) is not verified: compare the SAS, then type /verify")
            #expect(d.notVerifiedLineAtR == "* \(vector.inputs.nameI) is not verified: compare the SAS, then type /verify")
        }
    }
}
