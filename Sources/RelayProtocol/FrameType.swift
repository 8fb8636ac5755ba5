/// The frame types of protocols v1 and v2 (PROTOCOL.md section 1).
public enum FrameType: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case welcome = 0x02
    case peerJoined = 0x03
    case peerLeft = 0x04
    case data = 0x10
    /// Version 2, rooms of 3 or more: DATA tagged with its sender's name.
    case dataFrom = 0x11
    case ping = 0x20
    case pong = 0x21
    case bye = 0x30
    case error = 0x7F
}
