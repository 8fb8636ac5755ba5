/// A Fletcher-style checksum over the stream read as little-endian 64-bit words (the last
/// partial word padded with zeros): `a += word; b += a`, both wrapping. Position
/// dependent, so lost, repeated or reordered chunks change it; about one add per 8 bytes,
/// cheap beside the copies the counter makes anyway.
struct StreamChecksum: Equatable, Codable, Sendable {
    private(set) var a: UInt64 = 0
    private(set) var b: UInt64 = 0
    /// Bytes of a word split across two `update` calls (fewer than 8).
    private var pending: [UInt8] = []

    init() {}

    /// The sum after `words` more words whose plain sum is `sum` and whose weighted sum
    /// (`Σ (words − j) · w_j`, j from 0) is `weighted`: whole blocks in one step.
    mutating func advance(words: UInt64, sum: UInt64, weighted: UInt64) {
        precondition(pending.isEmpty, "advance works on word boundaries only")
        b = b &+ words &* a &+ weighted
        a = a &+ sum
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        if !pending.isEmpty {
            while pending.count < 8, start < bytes.count {
                pending.append(bytes[start])
                start += 1
            }
            guard pending.count == 8 else { return }
            let word = pending.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            add(UInt64(littleEndian: word))
            pending.removeAll(keepingCapacity: true)
        }
        let wholeWords = (bytes.count - start) / 8
        var sumA = a
        var sumB = b
        for index in 0..<wholeWords {
            sumA = sumA &+ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8 * index, as: UInt64.self))
            sumB = sumB &+ sumA
        }
        a = sumA
        b = sumB
        pending.append(contentsOf: bytes[(start + 8 * wholeWords)...])
    }

    /// The final value: the pending partial word padded with zeros, then `a` and `b`.
    func finished() -> (UInt64, UInt64) {
        var copy = self
        if !copy.pending.isEmpty {
            let padded = copy.pending + [UInt8](repeating: 0, count: 8 - copy.pending.count)
            copy.pending.removeAll()
            copy.add(UInt64(littleEndian: padded.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
        }
        return (copy.a, copy.b)
    }

    private mutating func add(_ word: UInt64) {
        a = a &+ word
        b = b &+ a
    }
}
