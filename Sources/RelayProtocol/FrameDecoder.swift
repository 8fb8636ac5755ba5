/// An incremental frame decoder: feed it bytes in any chunking, take frames out.
///
/// The bytes are found by the same ``FrameReader`` the relay and the client run (so the
/// tests and the fuzzer that drive this decoder exercise that code); this type only
/// buffers and decodes what the reader yields into ``Frame`` values (a DATA run into
/// one `.data` per frame). It refuses a bad header before buffering the body it
/// announces, and after an error it stays failed: every later `next()` throws the same
/// error, since the stream has lost its framing.
public struct FrameDecoder: Sendable {
    /// The frame limit this decoder enforces.
    public var maxFrame: UInt32 { reader.maxFrame }
    private var reader: FrameReader
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// DATA frames of a run already found, not yet returned (start and end of each body).
    private var pendingData: [Range<Int>] = []
    private var pendingEnd = 0
    private var failure: ProtocolError?

    /// A decoder of the framed protocol; `expectsHello` applies the relay's rule for a
    /// connection's first frame (see ``FrameReader/expectsHello``) until a HELLO is read.
    public init(maxFrame: UInt32 = FrameHeader.defaultMaxFrame, expectsHello: Bool = false) {
        reader = FrameReader(format: .framed, maxFrame: maxFrame, expectsHello: expectsHello)
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
        if pendingData.isEmpty {
            let reader = self.reader
            let start = readIndex
            let found: Result<FrameReader.Unit?, ProtocolError> = buffer.withUnsafeBytes { all in
                do throws(ProtocolError) { return .success(try reader.next(in: all, at: start)) } catch { return .failure(error) }
            }
            guard let unit = try found.get() else { return nil }
            switch unit {
            case .dataRun(let range, _, _):
                var offset = range.lowerBound
                while offset < range.upperBound {
                    let length = Int(buffer[offset]) << 24 | Int(buffer[offset + 1]) << 16 | Int(buffer[offset + 2]) << 8 | Int(buffer[offset + 3])
                    pendingData.append((offset + FrameHeader.byteCount)..<(offset + 4 + length))
                    offset += 4 + length
                }
                pendingData.reverse()
                pendingEnd = range.upperBound
            case .control(let header, let body):
                let decoded: Result<Frame, ProtocolError> = buffer.withUnsafeBytes { all in
                    do throws(ProtocolError) {
                        return .success(try Frame.decode(type: header.type, body: UnsafeRawBufferPointer(rebasing: all[body])))
                    } catch {
                        return .failure(error)
                    }
                }
                let frame = try decoded.get()
                readIndex = body.upperBound
                if header.type == .hello { self.reader.expectsHello = false }
                return frame
            }
        }
        guard let body = pendingData.popLast() else { return nil }
        readIndex = pendingData.isEmpty ? pendingEnd : body.upperBound
        return .data(Array(buffer[body]))
    }

    private mutating func compactIfWorthIt() {
        guard pendingData.isEmpty else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        } else if readIndex >= 64 * 1024 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
