/// The 5-byte header every frame starts with: `length:u32` (type byte plus body) and
/// `type:u8`. Everything a receiver must refuse before allocating a body is decided here.
public struct FrameHeader: Equatable, Sendable {
    /// Bytes in a header: the length field and the type byte.
    public static let byteCount = 5
    /// The protocol's default `maxFrame` (1 MiB).
    public static let defaultMaxFrame: UInt32 = 1_048_576

    /// The length field: the type byte plus the body.
    public let length: UInt32
    /// The frame's type.
    public let type: FrameType

    /// Bytes in the body.
    public var bodyCount: Int { Int(length) - 1 }
    /// Bytes in the whole frame, header included.
    public var frameCount: Int { 4 + Int(length) }

    public init(length: UInt32, type: FrameType) {
        self.length = length
        self.type = type
    }

    /// Reads a header from the start of `bytes`.
    ///
    /// Returns nil while too few bytes are present to decide. A length of 0 or above
    /// `maxFrame` is refused as soon as the 4 length bytes are in, an unknown type as soon
    /// as the type byte is, and a body longer than its type allows (a 1 MiB PING, say)
    /// from the header too, so no body is ever awaited or buffered in vain.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxFrame: UInt32) throws(ProtocolError) -> FrameHeader? {
        guard bytes.count >= 4 else { return nil }
        let length = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard length >= 1, length <= maxFrame else { throw .frameTooLarge(length: length, limit: maxFrame) }
        guard bytes.count >= 5 else { return nil }
        guard let type = FrameType(rawValue: bytes[4]) else { throw .unknownType(bytes[4]) }
        if let limit = type.maximumBodyCount, Int(length) - 1 > limit { throw .malformedBody(type) }
        return FrameHeader(length: length, type: type)
    }

    /// Appends the header's 5 bytes to `buffer`.
    public func write(into buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(type.rawValue)
    }
}

extension FrameType {
    /// The longest body a frame of this type can have, where its layout bounds it.
    /// A HELLO's bound is what its one-byte lengths allow (before HELLO the relay's own
    /// bound, ``maximumHelloLength``, applies).
    public var maximumBodyCount: Int? {
        switch self {
        case .hello: 1 + 1 + 255 + 1 + 255
        case .welcome: 32 + 4 + 1 + PeerName.maximumByteCount
        case .peerJoined, .peerLeft: PeerName.maximumByteCount
        case .ping, .pong: Frame.maximumPingBodyCount
        case .bye: 0
        case .data, .dataFrom, .error: nil
        }
    }
}
