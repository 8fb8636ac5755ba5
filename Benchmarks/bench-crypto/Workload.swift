import RelayCrypto

/// The four measured operations of the crypto core.
enum Operation: String, CaseIterable, Codable {
    /// `AESCBCCipher.encrypt` (the `GPUCrypto` form): fresh IV, returns `iv | ciphertext`.
    case encrypt
    /// `AESCBCCipher.decrypt` of `iv | ciphertext`.
    case decrypt
    /// `AuthenticatedCipher.seal`: fresh IV, AES-256-CBC, HMAC-SHA256.
    case seal
    /// `AuthenticatedCipher.open`: tag check in constant time, then decryption.
    case open
    /// `E2ERecordSealer.seal`: an end-to-end record (PROTOCOL.md 7.3) of kind stream.
    case recordSeal
    /// `E2ERecordOpener.open`: length, type byte, tag in constant time, then decryption.
    case recordOpen
}

/// Who performs an operation.
enum Implementation: String, CaseIterable, Codable {
    /// RelayCrypto's public API, as an application calls it.
    case ours
    /// libcrypto EVP with reused contexts on preallocated buffers: the hardware limit.
    case rawEVP
    /// swift-crypto's `_CryptoExtras` `AES._CBC` (plus `Crypto.HMAC` for seal/open).
    case swiftCrypto
}

/// The keys and plaintext shared by every implementation of one case.
struct Workload {
    let size: Int
    let plaintext: [UInt8]
    let key: [UInt8]
    let macKey: [UInt8]
    /// Baselines get this fixed IV for free; ours draws a fresh one per message.
    let iv: [UInt8]

    init(size: Int) {
        self.size = size
        plaintext = SecureRandom.bytes(count: size)
        key = SecureRandom.bytes(count: 32)
        macKey = SecureRandom.bytes(count: 32)
        iv = SecureRandom.bytes(count: 16)
    }

    /// A batch of `operation` by `implementation` over this workload.
    func batch(_ operation: Operation, by implementation: Implementation) -> Batch {
        switch implementation {
        case .ours: OurCrypto.batch(operation, self)
        case .rawEVP: RawEVPBaseline(self).batch(operation)
        case .swiftCrypto: SwiftCryptoBaseline.batch(operation, self)
        }
    }
}
