import CRelayShims
import COpenSSL

/// A fixed-size heap buffer for key material, wiped with `OPENSSL_cleanse` on deinit.
///
/// Unlike an `Array`, it is never copied behind our back, so wiping it wipes the only copy.
final class SecureBytes {
    let count: Int
    private let storage: UnsafeMutableRawBufferPointer

    init(count: Int) {
        self.count = count
        self.storage = .allocate(byteCount: max(count, 1), alignment: 16)
        self.storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let base = bytes.baseAddress, bytes.count > 0 {
            storage.baseAddress!.copyMemory(from: base, byteCount: bytes.count)
        }
    }

    /// The buffer's base address; valid while `self` is alive.
    var pointer: UnsafeMutableRawPointer { storage.baseAddress! }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Overwrites the bytes with zeros now (deinit does it too).
    func wipe() {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
    }

    deinit {
        wipe()
        storage.deallocate()
    }
}

/// Wiping secrets from memory.
public enum SecureMemory {
    /// Overwrites `buffer` with zeros in a way the compiler cannot drop (`OPENSSL_cleanse`).
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        OPENSSL_cleanse(buffer.baseAddress, buffer.count)
    }
}
