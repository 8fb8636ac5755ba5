#if canImport(Glibc)
import Glibc
#endif
import RelayIO

/// The raw side of pipe mode or a service: bytes (or lines) read from `inputFD`, bytes
/// written to `outputFD` through a queue that never blocks the loop (the socket is not
/// read while the queue is above its limit, so a slow reader holds the relay back
/// instead of filling memory).
final class LocalStreams {
    enum Mode { case raw, lines }

    let inputFD: Int32
    let outputFD: Int32
    let mode: Mode
    let output: OutputQueue
    private(set) var isInputOpen = true
    private(set) var isOutputOpen = true
    /// The output failed (the reader went away): what remains is dropped.
    private(set) var outputFailed = false
    private var closeWhenDrained = false
    private var lines = LineSplitter(maximumLineCount: 0)
    private var chunkSize = LocalStreams.readSize
    private var savedOutputFlags: Int32?
    /// Close the descriptors when done (a service's pipes, not standard input/output).
    private let ownsDescriptors: Bool

    init(inputFD: Int32, outputFD: Int32, mode: Mode, ownsDescriptors: Bool) {
        self.inputFD = inputFD
        self.outputFD = outputFD
        self.mode = mode
        self.ownsDescriptors = ownsDescriptors
        output = OutputQueue(stream: PlainStream(fd: outputFD))
        if mode == .raw {
            PipeCapacity.raise(inputFD, to: Self.pipeCapacity)
            PipeCapacity.raise(outputFD, to: Self.pipeCapacity)
        }
        let flags = fcntl(outputFD, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK == 0 {
            savedOutputFlags = flags
            _ = fcntl(outputFD, F_SETFL, flags | O_NONBLOCK)
        }
    }

    /// What a pipe on either side is grown to in raw mode (from the default 64 KiB): the
    /// writer into standard input and this client, or this client and the reader of its
    /// standard output, then wake each other a sixteenth as often.
    static let pipeCapacity = 1 << 20

    /// Bytes read at a time, at most.
    static let readSize = 64 * 1024

    /// The largest chunk one DATA frame carries: a read, capped by what fits one record
    /// (or relay-key message) once sealed, from the relay's frame limit.
    static func chunkSize(maximumContent: Int) -> Int {
        max(1, min(readSize, maximumContent))
    }

    /// The largest content one record carries (from the relay's frame limit).
    func setMaximumContent(_ count: Int) {
        chunkSize = Self.chunkSize(maximumContent: count)
        lines = LineSplitter(maximumLineCount: count)
    }

    /// What the input has now: chunks (raw) or lines, and `.endOfInput` at its end.
    func readInput() -> [ClientInput] {
        guard isInputOpen else { return [] }
        // Read straight into the chunk that is sent (no zero-filling, no trimming after).
        var count = 0
        var readError: Int32 = 0
        let chunk = [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, initialized in
            count = Glibc.read(inputFD, buffer.baseAddress, buffer.count)
            readError = errno
            initialized = max(0, count)
        }
        if count < 0 {
            if readError == EINTR || readError == EAGAIN { return [] }
            StatusLine.write("! cannot read \(ownsDescriptors ? "the service's output" : "standard input"): \(SystemCallError.message(for: readError))")
            return endOfInput()
        }
        if count == 0 { return endOfInput() }
        switch mode {
        case .raw:
            return [.chunk(chunk)]
        case .lines:
            return chunk.withUnsafeBytes { lines.feed($0) }.map {
                switch $0 {
                case .line(let text): .line(text)
                case .overlong(let count): .overlongLine(byteCount: count)
                }
            }
        }
    }

    /// Ends the input (end of file, or the service exited).
    func endOfInput() -> [ClientInput] {
        guard isInputOpen else { return [] }
        isInputOpen = false
        var inputs: [ClientInput] = []
        if mode == .lines, let last = lines.finish() {
            switch last {
            case .line(let text): inputs.append(.line(text))
            case .overlong(let count): inputs.append(.overlongLine(byteCount: count))
            }
        }
        inputs.append(.endOfInput)
        if ownsDescriptors { Glibc.close(inputFD) }
        return inputs
    }

    func write(_ bytes: [UInt8]) {
        guard isOutputOpen, !outputFailed else { return }
        output.append(bytes)
    }

    /// Closes the output once everything queued is written.
    func closeWhenWritten() {
        closeWhenDrained = true
    }

    /// Writes what the descriptor takes. True when nothing is left to write (and the
    /// output is closed if that was asked).
    @discardableResult
    func flush() -> Bool {
        guard isOutputOpen else { return true }
        var drained = true
        if !outputFailed {
            do {
                drained = try output.flush()
            } catch {
                outputFailed = true
                output.removeAll()
                drained = true
            }
        }
        if drained, closeWhenDrained { closeOutput() }
        return drained
    }

    private func closeOutput() {
        guard isOutputOpen else { return }
        isOutputOpen = false
        restoreFlags()
        Glibc.close(outputFD)
    }

    /// Puts the output descriptor's flags back (standard output may be shared).
    func restoreFlags() {
        if let savedOutputFlags, isOutputOpen { _ = fcntl(outputFD, F_SETFL, savedOutputFlags) }
        savedOutputFlags = nil
    }
}
