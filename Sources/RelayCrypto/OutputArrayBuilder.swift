import COpenSSL

/// Builds the `[UInt8]` a public API returns, as cheaply as the standard library allows.
///
/// `[UInt8](unsafeUninitializedCapacity:)` goes through a standard-library entry point that
/// cannot be specialized and looks up `Array`'s generic metadata on every call: about 40 ns,
/// a tenth of a 64-byte seal. Copying from a buffer (`[UInt8](UnsafeRawBufferPointer)`) is
/// specialized and has no lookup, so small outputs are written into a scratch buffer owned
/// here and copied out; large ones, where a copy costs more than the lookup, are written in
/// place. Not thread-safe, like its owner.
final class OutputArrayBuilder {
    /// Outputs up to this many bytes go through the scratch buffer.
    static let scratchCapacity = 1024

    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCapacity, alignment: 16)

    deinit {
        OPENSSL_cleanse(scratch, Self.scratchCapacity)
        scratch.deallocate()
    }

    /// For public bytes (ciphertext, IVs, tags): calls `write` with room for `capacity`
    /// bytes and returns the bytes it wrote (it returns their count, at most `capacity`).
    /// The scratch buffer keeps a copy of them.
    func makeArray(capacity: Int, _ write: (UnsafeMutableRawPointer) -> Int) -> [UInt8] {
        build(capacity: capacity, wipingScratch: false, write)!
    }

    /// For plaintext: as `makeArray`, but `write` may fail (nil), and the scratch buffer is
    /// wiped after use, so no copy of the plaintext stays behind.
    func makeSecretArray(capacity: Int, _ write: (UnsafeMutableRawPointer) -> Int?) -> [UInt8]? {
        build(capacity: capacity, wipingScratch: true, write)
    }

    /// For plaintext whose first byte is a header (a record's kind): as `makeSecretArray`,
    /// but returns that byte apart and the array without it; nil when `write` fails or
    /// writes nothing.
    func makeSecretArraySplittingFirstByte(
        capacity: Int, _ write: (UnsafeMutableRawPointer) -> Int?
    ) -> (first: UInt8, rest: [UInt8])? {
        guard capacity <= Self.scratchCapacity else {
            var first: UInt8?
            let rest = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                count = 0
                let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                guard let written = write(base), written >= 1 else {
                    OPENSSL_cleanse(base, capacity)
                    return
                }
                first = base.load(as: UInt8.self)
                base.copyMemory(from: base + 1, byteCount: written - 1)
                // Leave no stale plaintext in the array's spare capacity.
                OPENSSL_cleanse(base + (written - 1), capacity - (written - 1))
                count = written - 1
            }
            return first.map { ($0, rest) }
        }
        defer { OPENSSL_cleanse(scratch, capacity) }
        guard let written = write(scratch), written >= 1 else { return nil }
        return (scratch.load(as: UInt8.self), [UInt8](UnsafeRawBufferPointer(start: scratch + 1, count: written - 1)))
    }

    @inline(__always)
    private func build(capacity: Int, wipingScratch: Bool, _ write: (UnsafeMutableRawPointer) -> Int?) -> [UInt8]? {
        guard capacity <= Self.scratchCapacity else {
            var failed = false
            let result = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                if let written = write(UnsafeMutableRawPointer(buffer.baseAddress!)) {
                    count = written
                } else {
                    failed = true
                    count = 0
                }
            }
            return failed ? nil : result
        }
        let written = write(scratch)
        let result = written.map { [UInt8](UnsafeRawBufferPointer(start: scratch, count: $0)) }
        if wipingScratch { OPENSSL_cleanse(scratch, capacity) }
        return result
    }
}
