import COpenSSL

/// Comparisons whose running time does not depend on the bytes compared.
public enum ConstantTime {
    /// True when the `count` bytes at `a` and `b` are equal; `CRYPTO_memcmp` underneath.
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        CRYPTO_memcmp(a, b, count) == 0
    }

    /// True when `a` and `b` are equal; the length check is not secret.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in equal(x.baseAddress!, y.baseAddress!, count: a.count) } }
    }
}
