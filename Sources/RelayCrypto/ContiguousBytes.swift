/// Calls `body` with contiguous bytes of `bytes`, copying only when it is not contiguous.
func withContiguousBytes<Bytes: Collection, R>(
    _ bytes: Bytes, _ body: (UnsafeRawBufferPointer) throws -> R
) rethrows -> R where Bytes.Element == UInt8 {
    if let result = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    var copy = Array(bytes)
    defer { copy.withUnsafeMutableBytes { SecureMemory.wipe($0) } }
    return try copy.withUnsafeBytes(body)
}
