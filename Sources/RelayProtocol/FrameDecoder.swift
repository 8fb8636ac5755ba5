/// An incremental frame decoder: feed it bytes in any chunking, take frames out.
///
/// A pure state machine with no I/O. It refuses a bad header before buffering the body
/// it announces, and after an error it stays failed: every later `next()` throws the
/// same error, since the stream has lost its framing.
public struct FrameDecoder: Sendable {
    /// The frame limit this decoder enforces.
    public let maxFrame: UInt32
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: ProtocolError?

    public init(maxFrame: UInt32 = FrameHeader.defaultMaxFrame) {
        self.maxFrame = maxFrame
    }

    /// Bytes received but not yet decoded into a frame.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Adds received bytes.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws(ProtocolError) -> Frame? {
        if let failure { throw failure }
        do {
            let frame = try decodeNext()
            compactIfWorthIt()
            return frame
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func decodeNext() throws(ProtocolError) -> Frame? {
        let maxFrame = self.maxFrame
        let start = readIndex
        let result: Result<(Frame, Int)?, ProtocolError> = buffer.withUnsafeBytes { all in
            let pending = UnsafeRawBufferPointer(rebasing: all[start...])
            do throws(ProtocolError) {
                guard let header = try FrameHeader.parse(pending, maxFrame: maxFrame),
                      pending.count >= header.frameCount
                else { return .success(nil) }
                let body = UnsafeRawBufferPointer(rebasing: pending[FrameHeader.byteCount..<header.frameCount])
                return .success((try Frame.decode(type: header.type, body: body), header.frameCount))
            } catch {
                return .failure(error)
            }
        }
        guard let (frame, consumed) = try result.get() else { return nil }
        readIndex += consumed
        return frame
    }

    private mutating func compactIfWorthIt() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        } else if readIndex >= 64 * 1024 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
