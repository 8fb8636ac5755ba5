/// Why bytes received could not be accepted as a frame; each maps to the ERROR code the
/// server answers with.
public enum ProtocolError: Error, Equatable, Sendable {
    /// The length field is 0 or above the frame limit (decided from the header alone).
    case frameTooLarge(length: UInt32, limit: UInt32)
    /// A type byte that no frame has.
    case unknownType(UInt8)
    /// A body that does not match its type's layout.
    case malformedBody(FrameType)
    /// A HELLO announcing a protocol version other than 1.
    case unsupportedVersion(UInt8)
    /// A valid frame of this type where only HELLO may come (the first frame of a
    /// connection), refused from its header.
    case expectedHello(FrameType)

    /// The ERROR code for this failure.
    public var code: RelayErrorCode {
        switch self {
        case .frameTooLarge: .frameTooLarge
        case .unknownType, .malformedBody: .malformed
        case .unsupportedVersion: .unsupportedVersion
        case .expectedHello: .unexpectedFrame
        }
    }
}
