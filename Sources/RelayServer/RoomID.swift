import RelayCrypto

/// A room's id (PROTOCOL.md section 6): the 0 to 64 bytes a version 2 HELLO names,
/// compared byte for byte. Empty is the default room, which every version 1 HELLO joins.
public struct RoomID: Hashable, Sendable, CustomStringConvertible {
    /// The room's bytes as the client sent them.
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The room of every version 1 HELLO (and of a version 2 HELLO with roomLen 0).
    public static let defaultRoom = RoomID([])

    /// True for the default room.
    public var isDefault: Bool { bytes.isEmpty }

    /// How the room appears in logs: the first 8 lowercase hex digits of SHA-256(room).
    /// The room bytes themselves appear nowhere else.
    public var description: String {
        SHA256Hash.hash(bytes).prefix(4).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
