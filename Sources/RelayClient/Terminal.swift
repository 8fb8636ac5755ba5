#if canImport(Glibc)
import Glibc
#endif
import RelayIO

/// The client's terminal side: standard input split into lines, messages batched to
/// standard output, status lines on standard error (written after any batched messages,
/// so the two keep their order on a shared terminal).
final class Terminal {
    private var lines = LineSplitter(maximumLineCount: 0)
    private var outputBatch: [UInt8] = []
    private(set) var isInputOpen = true

    /// Sets the longest line kept (from the relay's frame limit).
    func setMaximumLineCount(_ count: Int) {
        lines = LineSplitter(maximumLineCount: count)
    }

    var maximumLineCount: Int { lines.maximumLineCount }

    /// Reads what standard input has: the inputs it makes (lines, and `.endOfInput` at
    /// its end or on a read error).
    func readInput() -> [ClientInput] {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return [] }
            status("! cannot read standard input: \(SystemCallError.message(for: errno))")
            return endOfInput()
        }
        if count == 0 { return endOfInput() }
        return chunk.withUnsafeBytes { lines.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }.map(Self.input)
    }

    private func endOfInput() -> [ClientInput] {
        isInputOpen = false
        var inputs = lines.finish().map { [Self.input(for: $0)] } ?? []
        inputs.append(.endOfInput)
        return inputs
    }

    private static func input(for item: LineSplitter.Item) -> ClientInput {
        switch item {
        case .line(let text): .line(text)
        case .overlong(let count): .overlongLine(byteCount: count)
        }
    }

    /// Queues a message line for standard output.
    func display(_ line: String) {
        outputBatch.append(contentsOf: line.utf8)
        outputBatch.append(UInt8(ascii: "\n"))
    }

    /// Writes a status line (after the messages queued before it).
    func status(_ line: String) {
        flushOutput()
        StatusLine.write(line)
    }

    /// Writes the queued messages.
    func flushOutput() {
        guard !outputBatch.isEmpty else { return }
        StandardStream.output.write(outputBatch)
        outputBatch.removeAll(keepingCapacity: true)
    }
}
