/// The original Python relay's wire format (PROTOCOL.md section 4): the client sends
/// its name as raw UTF-8 (no length, no terminator), the server answers with the 32 raw
/// key bytes, then both ways `length:u32 | payload[length]` where the payload is the
/// unauthenticated `iv | ciphertext` form. No frame types, no error frames.
public enum LegacyFraming {
    /// Bytes in the length prefix.
    public static let lengthFieldCount = 4
    /// The longest name: the server takes at most 255 bytes of the first read.
    public static let maximumNameCount = 255

    /// Reads the name a legacy client sent: the bytes of its first read. Names follow the
    /// v1 rules (UTF-8, no control characters, no surrounding white space) but may be up
    /// to 255 bytes long.
    public static func name(from firstRead: UnsafeRawBufferPointer) throws(PeerName.ValidationError) -> PeerName {
        try PeerName(validating: firstRead, maximumByteCount: maximumNameCount)
    }

    /// The length of the whole frame (prefix included) starting at `bytes`, or nil while
    /// fewer than 4 bytes are in. A length of 0 or above `maxFrame` is refused from the
    /// prefix alone.
    public static func frameCount(at bytes: UnsafeRawBufferPointer, maxFrame: UInt32) throws(ProtocolError) -> Int? {
        guard bytes.count >= lengthFieldCount else { return nil }
        let length = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard length >= 1, length <= maxFrame else { throw .frameTooLarge(length: length, limit: maxFrame) }
        return lengthFieldCount + Int(length)
    }

    /// Appends `length:u32 | payload` to `buffer`.
    public static func appendFrame(payload: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        appendLengthField(payloadCount: payload.count, to: &buffer)
        buffer.append(contentsOf: payload)
    }

    /// Appends the 4-byte length field of a frame whose payload is `payloadCount` bytes
    /// (for a sender that queues the payload itself, without copying it here first).
    public static func appendLengthField(payloadCount: Int, to buffer: inout [UInt8]) {
        let length = UInt32(truncatingIfNeeded: payloadCount)
        buffer.append(contentsOf: [
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ])
    }
}
