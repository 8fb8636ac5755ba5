/// The keys of one end-to-end agreement (PROTOCOL.md section 7.2):
/// PRK = HKDF-Extract(salt = K, IKM = Z), key(label) = HKDF-Expand(PRK, "relay e2e v1 " | label | T, 32)
/// for the four direction keys and the SAS. Every key lives in a buffer wiped by ``wipe()``
/// or on deinit; the sealers and openers it makes keep their own (OpenSSL) copies.
public final class E2EKeySchedule {
    /// The labels of section 7.2.
    enum Label: String, CaseIterable {
        case i2rEncryption = "i2r enc"
        case i2rAuthentication = "i2r mac"
        case r2iEncryption = "r2i enc"
        case r2iAuthentication = "r2i mac"
        case sas = "sas"

        var info: [UInt8] { Array("relay e2e v1 \(rawValue)".utf8) }
    }

    static let keyByteCount = 32

    /// T, the transcript hash the keys are bound to (also signed in the identity records).
    public let transcript: [UInt8]
    /// The short authentication string as a number, 0 to 999,999.
    public let sasNumber: UInt32
    private let keys: [Label: SecureBytes]

    /// The schedule from the relay session key `K` (the 32 bytes of this client's WELCOME),
    /// the X25519 shared secret Z and the transcript hash T (``E2EAgreement/transcript(initiatorName:responderName:initiatorPublicKey:responderPublicKey:)``).
    /// A session key or T that is not 32 bytes throws ``CryptoError/invalidKeyLength(_:)``.
    public init<Key: Collection>(sessionKey: Key, sharedSecret: X25519SharedSecret, transcript: [UInt8])
    throws(CryptoError) where Key.Element == UInt8 {
        guard sessionKey.count == SessionKey.byteCount else { throw .invalidKeyLength(sessionKey.count) }
        guard transcript.count == SHA256Hash.byteCount else { throw .invalidKeyLength(transcript.count) }
        self.transcript = transcript
        let salt = SecureBytes(count: SessionKey.byteCount)
        UnsafeMutableRawBufferPointer(start: salt.pointer, count: salt.count).copyBytes(from: sessionKey)
        let prk = SecureBytes(count: HKDF.pseudoRandomKeyCount)
        salt.withUnsafeBytes { saltBytes in
            sharedSecret.withUnsafeBytes { z in
                HKDF.extract(salt: saltBytes, inputKeyMaterial: z,
                             into: UnsafeMutableRawBufferPointer(start: prk.pointer, count: prk.count))
            }
        }
        var keys: [Label: SecureBytes] = [:]
        for label in Label.allCases {
            let key = SecureBytes(count: Self.keyByteCount)
            (label.info + transcript).withUnsafeBytes { info in
                prk.withUnsafeBytes { prkBytes in
                    HKDF.expand(pseudoRandomKey: prkBytes, info: info,
                                into: UnsafeMutableRawBufferPointer(start: key.pointer, count: key.count))
                }
            }
            keys[label] = key
        }
        self.keys = keys
        sasNumber = keys[.sas]!.withUnsafeBytes { sas in
            sas.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % 1_000_000
        }
    }

    /// The schedule for one side, from its own ephemeral key and what it received:
    /// computes Z (refusing an all-zero one) and T. `ownName` and `peerName` are the
    /// UTF-8 bytes as on the wire.
    public convenience init<Key: Collection>(
        sessionKey: Key, role: E2ERole, ownName: [UInt8], peerName: [UInt8],
        ownKey: X25519PrivateKey, peerPublicKey: [UInt8]
    ) throws(E2EKeyScheduleError) where Key.Element == UInt8 {
        let secret: X25519SharedSecret
        let transcript: [UInt8]
        do {
            secret = try ownKey.sharedSecret(with: peerPublicKey)
        } catch {
            throw .keyAgreement(error)
        }
        let (initiatorName, responderName) = role == .initiator ? (ownName, peerName) : (peerName, ownName)
        let (initiatorKey, responderKey) = role == .initiator ? (ownKey.publicKey, peerPublicKey) : (peerPublicKey, ownKey.publicKey)
        do {
            transcript = try E2EAgreement.transcript(
                initiatorName: initiatorName, responderName: responderName,
                initiatorPublicKey: initiatorKey, responderPublicKey: responderKey)
        } catch {
            throw .agreement(error)
        }
        do {
            try self.init(sessionKey: sessionKey, sharedSecret: secret, transcript: transcript)
        } catch {
            throw .sessionKey(error)
        }
        secret.wipe()
    }

    /// The SAS as shown to users: six digits in two groups of three, "048 213".
    public var sas: String {
        let digits = String(sasNumber)
        let padded = String(repeating: "0", count: 6 - digits.count) + digits
        return "\(padded.prefix(3)) \(padded.suffix(3))"
    }

    /// A sealer for records sent in `direction` (a side sends in `role.sendingDirection`).
    public func makeSealer(for direction: E2EDirection) -> E2ERecordSealer {
        let (encryption, authentication) = directionKeys(direction)
        return encryption.withUnsafeBytes { enc in
            authentication.withUnsafeBytes { E2ERecordSealer(encryptionKey: enc, authenticationKey: $0) }
        }
    }

    /// An opener for records received in `direction` (a side receives in `role.receivingDirection`).
    public func makeOpener(for direction: E2EDirection) -> E2ERecordOpener {
        let (encryption, authentication) = directionKeys(direction)
        return encryption.withUnsafeBytes { enc in
            authentication.withUnsafeBytes { E2ERecordOpener(encryptionKey: enc, authenticationKey: $0) }
        }
    }

    /// Overwrites every key with zeros; sealers and openers already made keep working.
    public func wipe() {
        for key in keys.values { key.wipe() }
    }

    /// key(label), for the known-answer tests.
    func key(_ label: Label) -> [UInt8] {
        keys[label]!.withUnsafeBytes { Array($0) }
    }

    private func directionKeys(_ direction: E2EDirection) -> (SecureBytes, SecureBytes) {
        switch direction {
        case .initiatorToResponder: (keys[.i2rEncryption]!, keys[.i2rAuthentication]!)
        case .responderToInitiator: (keys[.r2iEncryption]!, keys[.r2iAuthentication]!)
        }
    }
}

/// Why ``E2EKeySchedule/init(sessionKey:role:ownName:peerName:ownKey:peerPublicKey:)`` failed.
public enum E2EKeyScheduleError: Error, Equatable, Sendable {
    /// The peer's public key is not 32 bytes, or gives an all-zero shared secret: abort the agreement.
    case keyAgreement(X25519Error)
    /// A name too long, or a public key of the wrong length.
    case agreement(E2EAgreementError)
    /// The session key is not 32 bytes.
    case sessionKey(CryptoError)
}
