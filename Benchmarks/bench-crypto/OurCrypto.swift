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
        }
    }
}
