import RelayCrypto

/// The fixed inputs of the agreement benchmark: the relay key K, the names and the
/// peer's public key; each implementation makes a fresh X25519 key per agreement.
struct AgreementWorkload {
    let sessionKey = SecureRandom.bytes(count: 32)
    let initiatorName = Array("alice".utf8)
    let responderName = Array("bob".utf8)
    let peerPublicKey = X25519PrivateKey().publicKey

    /// The bytes hashed into T before the initiator's public key: label and names.
    var transcriptPrefix: [UInt8] {
        Array("relay e2e v1".utf8) + [UInt8(initiatorName.count)] + initiatorName + [UInt8(responderName.count)] + responderName
    }

    /// The five HKDF-Expand infos without T.
    static let labels = ["i2r enc", "i2r mac", "r2i enc", "r2i mac", "sas"].map { Array("relay e2e v1 \($0)".utf8) }

    func batch(by implementation: Implementation) -> Batch {
        switch implementation {
        case .ours: OurCrypto.agreementBatch(self)
        case .rawEVP: RawEVPAgreement(self).batch()
        case .swiftCrypto: SwiftCryptoBaseline.agreementBatch(self)
        }
    }
}

/// Agreements per second of each implementation.
struct AgreementResult: Codable {
    var ours: Double
    var rawEVP: Double
    var swiftCrypto: Double
}
