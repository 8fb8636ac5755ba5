/// The one reader of frame streams, used by the relay, the client, the decoder the
/// tests and the fuzzer drive, alike: it finds the next whole unit in received bytes,
/// without copying them. Consecutive DATA frames come out as one *run* (the relay
/// forwards a run with one write, unchanged); every other frame comes out alone, for
/// its body to be decoded. Two wire formats stand behind the same interface: the framed
/// protocol (versions 1 and 2) and the original Python relay's (legacy, whose frames
/// are all DATA).
///
/// A pure value with no I/O. Refusals are decided from headers alone, as early as the
/// contract allows, so no body is ever awaited in vain.
public struct FrameReader: Sendable {
    /// Which wire format the bytes are in.
    public enum Format: Sendable, Equatable {
        /// `length:u32 | type:u8 | body` (PROTOCOL.md sections 1 and 6).
        case framed
        /// `length:u32 | payload` (section 4); every frame is DATA.
        case legacy
    }

    /// One whole unit of input.
    public enum Unit: Equatable, Sendable {
        /// Whole DATA frames back to back at `range` (legacy: whole legacy frames);
        /// `lastLength` is the last one's length field.
        case dataRun(Range<Int>, frameCount: Int, lastLength: Int)
        /// One whole frame of another type, its body at `body`.
        case control(FrameHeader, body: Range<Int>)

        /// Where the unit ends.
        public var end: Int {
            switch self {
            case .dataRun(let range, _, _): range.upperBound
            case .control(_, let body): body.upperBound
            }
        }
    }

    public let format: Format
    /// The largest `length` accepted.
    public let maxFrame: UInt32
    /// True while the next frame is a connection's first, which must be a HELLO
    /// (the relay's rule, section 6 "Before HELLO"): decided from its header alone.
    public var expectsHello: Bool

    public init(format: Format = .framed, maxFrame: UInt32 = FrameHeader.defaultMaxFrame, expectsHello: Bool = false) {
        self.format = format
        self.maxFrame = maxFrame
        self.expectsHello = expectsHello
    }

    /// The next whole unit starting at `offset` in `bytes`, or nil while the bytes there
    /// do not yet hold one. Throws the refusal of the first frame that cannot be accepted.
    public func next(in bytes: UnsafeRawBufferPointer, at offset: Int) throws(ProtocolError) -> Unit? {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
        switch format {
        case .legacy:
            var end = offset
            var frames = 0
            var lastLength = 0
            while true {
                let count: Int?
                do {
                    count = try LegacyFraming.frameCount(at: UnsafeRawBufferPointer(rebasing: bytes[end...]), maxFrame: maxFrame)
                } catch {
                    // The frames before a bad length are a run of their own; the next
                    // call refuses.
                    if frames > 0 { break }
                    throw error
                }
                guard let count, bytes.count - end >= count else { break }
                end += count
                frames += 1
                lastLength = count - LegacyFraming.lengthFieldCount
            }
            return frames > 0 ? .dataRun(offset..<end, frameCount: frames, lastLength: lastLength) : nil
        case .framed where expectsHello:
            guard let header = try FrameHeader.parseFirst(rest, maxFrame: maxFrame), rest.count >= header.frameCount else {
                return nil
            }
            return .control(header, body: (offset + FrameHeader.byteCount)..<(offset + header.frameCount))
        case .framed:
            let (end, frames, lastLength) = dataRun(in: bytes, from: offset)
            if frames > 0 { return .dataRun(offset..<end, frameCount: frames, lastLength: lastLength) }
            // Not a whole valid DATA frame: the full parser refuses, waits, or finds a
            // frame of another type.
            guard let header = try FrameHeader.parse(rest, maxFrame: maxFrame), rest.count >= header.frameCount else {
                return nil
            }
            return .control(header, body: (offset + FrameHeader.byteCount)..<(offset + header.frameCount))
        }
    }

    /// Bytes still missing from the partial frame at `offset` (both formats start with a
    /// 4-byte length counting what follows it), or 0 when unknown or none.
    public func bytesMissing(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        guard bytes.count - offset >= 4 else { return 0 }
        let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        guard length <= Int(maxFrame) else { return 0 }
        return max(0, offset + 4 + length - bytes.count)
    }

    /// The run of whole, valid DATA frames starting at `start`: the forwarding hot loop,
    /// a header check per frame and no calls. It stops at anything else (another type, a
    /// partial frame, a header to refuse), which ``FrameHeader/parse(_:maxFrame:)`` then
    /// handles.
    private func dataRun(in bytes: UnsafeRawBufferPointer, from start: Int) -> (end: Int, frames: Int, lastLength: Int) {
        guard let base = bytes.baseAddress else { return (start, 0, 0) }
        let count = bytes.count
        let maxFrame = Int(self.maxFrame)
        let dataType = FrameType.data.rawValue
        var offset = start
        var frames = 0
        var lastLength = 0
        while count - offset >= FrameHeader.byteCount {
            let header = base + offset
            let length = Int(UInt32(bigEndian: header.loadUnaligned(as: UInt32.self)))
            guard header.load(fromByteOffset: 4, as: UInt8.self) == dataType, length >= 1, length <= maxFrame,
                  count - offset - 4 >= length
            else { break }
            offset += 4 + length
            frames += 1
            lastLength = length
        }
        return (offset, frames, lastLength)
    }
}
