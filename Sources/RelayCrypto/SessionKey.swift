/// A relay session's 32-byte key: drawn from OpenSSL's CSPRNG, kept in one heap buffer
/// that is never copied implicitly, and wiped when the session ends (or on deinit).
public final class SessionKey {
    /// The key length in bytes.
    public static let byteCount = 32

    private let bytes = SecureBytes(count: SessionKey.byteCount)
    /// False once ``wipe()`` has run.
    public private(set) var isLive = true

    /// Draws a fresh random key.
    public init() {
        SecureRandom.fill(UnsafeMutableRawBufferPointer(start: bytes.pointer, count: Self.byteCount))
    }

    /// Calls `body` with the key bytes; do not let them escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// Overwrites the key with zeros; it is never used again.
    public func wipe() {
        bytes.wipe()
        isLive = false
    }
}
