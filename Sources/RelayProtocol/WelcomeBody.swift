/// A WELCOME body's fields, parsed in place so that the session key is never copied: a
/// client builds its cipher from `body[sessionKeyRange]` and then wipes those bytes.
public struct WelcomeBody: Equatable, Sendable {
    /// Where the 32 key bytes sit in the body.
    public let sessionKeyRange: Range<Int>
    /// The server's frame limit.
    public let maxFrame: UInt32
    /// The peer's name, empty when no peer is connected yet.
    public let peer: [UInt8]

    /// Checks the layout `sessionKey[32] maxFrame:u32 peerLen:u8 peer[peerLen]`.
    public init(parsing body: UnsafeRawBufferPointer) throws(ProtocolError) {
        let keyCount = Frame.sessionKeyCount
        guard body.count >= keyCount + 5 else { throw .malformedBody(.welcome) }
        let peerCount = Int(body[keyCount + 4])
        guard body.count == keyCount + 5 + peerCount else { throw .malformedBody(.welcome) }
        let peer = Array(body[(keyCount + 5)...])
        if !peer.isEmpty { try Frame.requireValidName(peer, .welcome) }
        sessionKeyRange = 0..<keyCount
        maxFrame = body[keyCount..<(keyCount + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        self.peer = peer
    }
}
