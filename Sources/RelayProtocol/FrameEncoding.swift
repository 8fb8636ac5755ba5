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
        case .helloRoom(let name, let room):
            buffer.append(Frame.roomsProtocolVersion)
            buffer.append(UInt8(truncatingIfNeeded: name.count))
            buffer.append(contentsOf: name)
            buffer.append(UInt8(truncatingIfNeeded: room.count))
            buffer.append(contentsOf: room)
        case .welcomeRoom(let key, let maxFrame, let roomSize, let peers):
            buffer.append(contentsOf: key)
            Self.appendBigEndian(maxFrame, to: &buffer)
            buffer.append(roomSize)
            buffer.append(UInt8(truncatingIfNeeded: peers.count))
            for peer in peers {
                buffer.append(UInt8(truncatingIfNeeded: peer.count))
                buffer.append(contentsOf: peer)
            }
        case .dataFrom(let name, let sealed):
            buffer.append(UInt8(truncatingIfNeeded: name.count))
            buffer.append(contentsOf: name)
            buffer.append(contentsOf: sealed)
        case .welcome(let key, let maxFrame, let peer):
            buffer.append(contentsOf: key)
            Self.appendBigEndian(maxFrame, to: &buffer)
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
        case .helloRoom(let name, let room): 3 + name.count + room.count
        case .welcomeRoom(let key, _, _, let peers): key.count + 4 + 2 + peers.reduce(0) { $0 + 1 + $1.count }
        case .dataFrom(let name, let sealed): 1 + name.count + sealed.count
        case .welcome(let key, _, let peer): key.count + 4 + 1 + peer.count
        case .peerJoined(let name), .peerLeft(let name): name.count
        case .data(let body), .ping(let body), .pong(let body): body.count
        case .bye: 0
        case .error(_, let message): 2 + message.utf8.count
        }
    }

    /// Appends `value` as 4 big-endian bytes.
    public static func appendBigEndian(_ value: UInt32, to buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends a DATA header announcing `bodyCount` bytes, for callers that write the
    /// body in place afterwards (sealing straight into the frame).
    public static func appendDataHeader(bodyCount: Int, to buffer: inout [UInt8]) {
        FrameHeader(length: UInt32(truncatingIfNeeded: 1 + bodyCount), type: .data).write(into: &buffer)
    }
}
