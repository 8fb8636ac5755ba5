extension Frame {
    /// The frame's bytes, header included.
    public func encoded() -> [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }

    /// Appends the frame's bytes, header included, to `buffer`.
    ///
    /// Encoding does not check the frame's own rules (a 33-byte name, a 65-byte PING):
    /// tests use that to build invalid frames on purpose.
    public func encode(into buffer: inout [UInt8]) {
        let bodyCount = self.bodyCount
        buffer.reserveCapacity(buffer.count + FrameHeader.byteCount + bodyCount)
        FrameHeader(length: UInt32(truncatingIfNeeded: 1 + bodyCount), type: type).write(into: &buffer)
        switch self {
        case .hello(let name):
            buffer.append(Frame.protocolVersion)
            buffer.append(UInt8(truncatingIfNeeded: name.count))
            buffer.append(contentsOf: name)
        case .welcome(let key, let maxFrame, let peer):
            buffer.append(contentsOf: key)
            buffer.append(contentsOf: [
                UInt8(truncatingIfNeeded: maxFrame >> 24), UInt8(truncatingIfNeeded: maxFrame >> 16),
                UInt8(truncatingIfNeeded: maxFrame >> 8), UInt8(truncatingIfNeeded: maxFrame),
            ])
            buffer.append(UInt8(truncatingIfNeeded: peer.count))
            buffer.append(contentsOf: peer)
        case .peerJoined(let name), .peerLeft(let name):
            buffer.append(contentsOf: name)
        case .data(let body), .ping(let body), .pong(let body):
            buffer.append(contentsOf: body)
        case .bye:
            break
        case .error(let code, let message):
            buffer.append(UInt8(truncatingIfNeeded: code >> 8))
            buffer.append(UInt8(truncatingIfNeeded: code))
            buffer.append(contentsOf: message.utf8)
        }
    }

    private var bodyCount: Int {
        switch self {
        case .hello(let name): 2 + name.count
        case .welcome(let key, _, let peer): key.count + 4 + 1 + peer.count
        case .peerJoined(let name), .peerLeft(let name): name.count
        case .data(let body), .ping(let body), .pong(let body): body.count
        case .bye: 0
        case .error(_, let message): 2 + message.utf8.count
        }
    }

    /// Appends a DATA header announcing `bodyCount` bytes, for callers that write the
    /// body in place afterwards (sealing straight into the frame).
    public static func appendDataHeader(bodyCount: Int, to buffer: inout [UInt8]) {
        FrameHeader(length: UInt32(truncatingIfNeeded: 1 + bodyCount), type: .data).write(into: &buffer)
    }
}
