/// Who a peer is in an end-to-end agreement (PROTOCOL.md section 7.1): the initiator was
/// in the room first (it learns of the other from PEER_JOINED), the responder joined second.
public enum E2ERole: Sendable {
    /// I: in the room first; sends i2r records, signs with role byte 'I'.
    case initiator
    /// R: joined second; sends the commitment and r2i records, signs with 'R'.
    case responder

    /// The role byte signed in the identity record: ASCII 'I' or 'R'.
    public var byte: UInt8 {
        switch self {
        case .initiator: UInt8(ascii: "I")
        case .responder: UInt8(ascii: "R")
        }
    }

    /// The other role.
    public var peer: E2ERole { self == .initiator ? .responder : .initiator }

    /// The direction this role's records travel in.
    public var sendingDirection: E2EDirection { self == .initiator ? .initiatorToResponder : .responderToInitiator }

    /// The direction of the records this role receives.
    public var receivingDirection: E2EDirection { peer.sendingDirection }
}

/// A direction of end-to-end records; each has its own keys and sequence numbers.
public enum E2EDirection: Sendable {
    /// "i2r": records the initiator sends.
    case initiatorToResponder
    /// "r2i": records the responder sends.
    case responderToInitiator
}

/// Why an agreement's input was refused (PROTOCOL.md section 7.2); each aborts the agreement.
public enum E2EAgreementError: Error, Equatable, Sendable {
    /// A key-agreement message that is not `0x03 | step (1...3) | 32 bytes`, exactly 34 bytes.
    case malformedMessage
    /// A public key or commitment that is not 32 bytes; the associated value is the length.
    case invalidLength(Int)
    /// A name longer than 255 bytes cannot be length-prefixed with a u8.
    case nameTooLong(Int)
    /// The responder's public key does not match the commitment it sent first.
    case commitmentMismatch
}

/// The public computations of an agreement (PROTOCOL.md section 7.2): the commitment
/// and the transcript hash T. Pure functions; the key schedule is ``E2EKeySchedule``.
public enum E2EAgreement {
    /// The length of public keys, commitments and T in bytes.
    public static let valueByteCount = 32

    static let commitmentLabel = Array("relay e2e v1 commit".utf8)
    static let transcriptLabel = Array("relay e2e v1".utf8)

    /// SHA-256("relay e2e v1 commit" | pkR), which R sends before its public key.
    public static func commitment<Key: Collection>(toResponderPublicKey publicKey: Key) throws(E2EAgreementError) -> [UInt8]
    where Key.Element == UInt8 {
        guard publicKey.count == valueByteCount else { throw .invalidLength(publicKey.count) }
        return SHA256Hash.hash(commitmentLabel + publicKey)
    }

    /// Checks (in constant time) that `responderPublicKey` is the one `commitment` was made to.
    public static func verifyCommitment<Commitment: Collection, Key: Collection>(
        _ commitment: Commitment, responderPublicKey: Key
    ) throws(E2EAgreementError) where Commitment.Element == UInt8, Key.Element == UInt8 {
        guard commitment.count == valueByteCount else { throw .invalidLength(commitment.count) }
        let expected = try Self.commitment(toResponderPublicKey: responderPublicKey)
        guard ConstantTime.equal(expected, Array(commitment)) else { throw .commitmentMismatch }
    }

    /// T = SHA-256("relay e2e v1" | u8 len | nameI | u8 len | nameR | pkI | pkR), names as
    /// the UTF-8 bytes on the wire.
    public static func transcript<NameI: Collection, NameR: Collection, KeyI: Collection, KeyR: Collection>(
        initiatorName: NameI, responderName: NameR, initiatorPublicKey: KeyI, responderPublicKey: KeyR
    ) throws(E2EAgreementError) -> [UInt8]
    where NameI.Element == UInt8, NameR.Element == UInt8, KeyI.Element == UInt8, KeyR.Element == UInt8 {
        for name in [initiatorName.count, responderName.count] where name > Int(UInt8.max) {
            throw .nameTooLong(name)
        }
        for key in [initiatorPublicKey.count, responderPublicKey.count] where key != valueByteCount {
            throw .invalidLength(key)
        }
        var input = transcriptLabel
        input.reserveCapacity(transcriptLabel.count + 2 + initiatorName.count + responderName.count + 64)
        input.append(UInt8(initiatorName.count))
        input.append(contentsOf: initiatorName)
        input.append(UInt8(responderName.count))
        input.append(contentsOf: responderName)
        input.append(contentsOf: initiatorPublicKey)
        input.append(contentsOf: responderPublicKey)
        return SHA256Hash.hash(input)
    }
}
