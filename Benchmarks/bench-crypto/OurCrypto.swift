import RelayCrypto

/// RelayCrypto measured through its public API with `[UInt8]` in and out, exactly as
/// the relay and its users call it: every message gets a fresh IV and a new result array.
enum OurCrypto {
    static func batch(_ operation: Operation, _ workload: Workload) -> Batch {
        let plaintext = workload.plaintext
        switch operation {
        case .encrypt:
            let cipher = try! AESCBCCipher(key: workload.key)
            return repeating { cipher.encrypt(plaintext).last! }
        case .decrypt:
            let cipher = try! AESCBCCipher(key: workload.key)
            let message = cipher.encrypt(plaintext)
            return repeating { try! cipher.decrypt(message).last! }
        case .seal:
            let cipher = try! AuthenticatedCipher(sessionKey: workload.key)
            return repeating { cipher.seal(plaintext).last! }
        case .open:
            let cipher = try! AuthenticatedCipher(sessionKey: workload.key)
            let sealed = cipher.seal(plaintext)
            return repeating { try! cipher.open(sealed).last! }
        case .recordSeal:
            let sealer = recordSchedule(workload).makeSealer(for: .initiatorToResponder)
            return repeating { try! sealer.seal(.stream, content: plaintext).last! }
        case .recordOpen:
            let schedule = recordSchedule(workload)
            let record = try! schedule.makeSealer(for: .initiatorToResponder).seal(.stream, content: plaintext)
            let opener = schedule.makeOpener(for: .initiatorToResponder)
            return repeating { try! opener.open(record).content.last! }
        }
    }

    /// An agreement's key schedule, from the workload's key as K.
    private static func recordSchedule(_ workload: Workload) -> E2EKeySchedule {
        try! E2EKeySchedule(
            sessionKey: workload.key, role: .initiator, ownName: Array("alice".utf8), peerName: Array("bob".utf8),
            ownKey: X25519PrivateKey(), peerPublicKey: X25519PrivateKey().publicKey)
    }

    /// One whole agreement as a client makes it: a fresh X25519 key, Z (with the all-zero
    /// check), T, PRK and the five keys (and so the SAS).
    static func agreementBatch(_ workload: AgreementWorkload) -> Batch {
        repeating {
            let schedule = try! E2EKeySchedule(
                sessionKey: workload.sessionKey, role: .initiator, ownName: workload.initiatorName,
                peerName: workload.responderName, ownKey: X25519PrivateKey(), peerPublicKey: workload.peerPublicKey)
            return UInt8(truncatingIfNeeded: schedule.sasNumber)
        }
    }
}
