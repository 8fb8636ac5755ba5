/// Splits standard input into messages: one per line, without its newline. A line
/// longer than the limit is reported and skipped as a whole (never split, never sent in
/// part); a last line without a newline is a message too.
public struct LineSplitter {
    /// What the splitter found in the bytes given.
    public enum Item: Equatable {
        /// A complete line, without its newline.
        case line([UInt8])
        /// A line of `byteCount` bytes (or more) that exceeded the limit and was dropped.
        case overlong(byteCount: Int)
    }

    /// The longest line kept, in bytes.
    public let maximumLineCount: Int
    private var partial: [UInt8] = []
    private var discarding = false
    private var discardedCount = 0

    public init(maximumLineCount: Int) {
        self.maximumLineCount = maximumLineCount
    }

    /// Feeds bytes; returns the lines they complete, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Item] {
        var items: [Item] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let end = newline ?? bytes.count
            take(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            if newline != nil {
                if let item = finishLine() { items.append(item) }
                start = end + 1
            } else {
                start = end
            }
        }
        return items
    }

    /// The end of input: the unterminated last line, if any.
    public mutating func finish() -> Item? {
        guard !partial.isEmpty || discarding else { return nil }
        return finishLine()
    }

    private mutating func take(_ piece: UnsafeRawBufferPointer) {
        if discarding {
            discardedCount += piece.count
        } else if partial.count + piece.count > maximumLineCount {
            discarding = true
            discardedCount = partial.count + piece.count
            partial.removeAll()
        } else {
            partial.append(contentsOf: piece)
        }
    }

    private mutating func finishLine() -> Item? {
        defer {
            partial.removeAll(keepingCapacity: true)
            discarding = false
            discardedCount = 0
        }
        return discarding ? .overlong(byteCount: discardedCount) : .line(partial)
    }
}
