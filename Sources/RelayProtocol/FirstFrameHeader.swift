/// The rule for a connection's first frame (PROTOCOL.md section 6, "Before HELLO"):
/// the relay decides from the 5-byte header alone, without waiting for or storing the
/// body, so a connection that has not joined can make it hold only a few hundred bytes.
extension FrameHeader {
    /// The longest HELLO `length` accepted: the type byte, version, nameLen, a 32-byte
    /// name, roomLen and a 64-byte room (version 2's layout, which bounds version 1's).
    public static let maximumHelloLength: UInt32 = 1 + 1 + 1 + 32 + 1 + 64

    /// Reads the header of a connection's first frame from the start of `bytes`, which
    /// must be a HELLO.
    ///
    /// Returns nil while too few bytes are present to decide (as ``parse(_:maxFrame:)``). Refuses, in the contract's order:
    /// `length` 0 or above `maxFrame` (``ProtocolError/frameTooLarge(length:limit:)``), a
    /// type no frame has (``ProtocolError/unknownType(_:)``), any other type than HELLO
    /// (``ProtocolError/expectedHello(_:)``), and a HELLO longer than
    /// ``maximumHelloLength`` (``ProtocolError/frameTooLarge(length:limit:)``).
    public static func parseFirst(_ bytes: UnsafeRawBufferPointer, maxFrame: UInt32) throws(ProtocolError) -> FrameHeader? {
        guard bytes.count >= 4 else { return nil }
        let length = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard length >= 1, length <= maxFrame else { throw .frameTooLarge(length: length, limit: maxFrame) }
        guard bytes.count >= byteCount else { return nil }
        guard let type = FrameType(rawValue: bytes[4]) else { throw .unknownType(bytes[4]) }
        guard type == .hello else { throw .expectedHello(type) }
        guard length <= maximumHelloLength else {
            throw .frameTooLarge(length: length, limit: maximumHelloLength)
        }
        return FrameHeader(length: length, type: type)
    }
}
