extension Frame {
    /// Decodes a body against its type's row of the frame table.
    ///
    /// HELLO's version is checked first: a version other than 1 is
    /// ``ProtocolError/unsupportedVersion(_:)`` whatever follows, since another version's
    /// layout is unknown. Name rules are not checked here (the server answers
    /// INVALID_NAME for those, see ``PeerName``), except that names the server sends
    /// (PEER_JOINED, PEER_LEFT, a WELCOME's peer) must be valid.
    public static func decode(type: FrameType, body: UnsafeRawBufferPointer) throws(ProtocolError) -> Frame {
        switch type {
        case .hello:
            guard body.count >= 1 else { throw .malformedBody(type) }
            guard body[0] == protocolVersion else { throw .unsupportedVersion(body[0]) }
            guard body.count >= 2, Int(body[1]) == body.count - 2 else { throw .malformedBody(type) }
            return .hello(name: Array(body[2...]))
        case .welcome:
            let welcome = try WelcomeBody(parsing: body)
            return .welcome(sessionKey: Array(body[welcome.sessionKeyRange]), maxFrame: welcome.maxFrame, peer: welcome.peer)
        case .peerJoined, .peerLeft:
            let name = Array(body)
            try requireValidName(name, type)
            return type == .peerJoined ? .peerJoined(name: name) : .peerLeft(name: name)
        case .data:
            return .data(Array(body))
        case .ping, .pong:
            guard body.count <= maximumPingBodyCount else { throw .malformedBody(type) }
            return type == .ping ? .ping(Array(body)) : .pong(Array(body))
        case .bye:
            guard body.isEmpty else { throw .malformedBody(type) }
            return .bye
        case .error:
            guard body.count >= 2, let message = String(validating: body[2...], as: UTF8.self) else {
                throw .malformedBody(type)
            }
            return .error(code: UInt16(body[0]) << 8 | UInt16(body[1]), message: message)
        }
    }

    static func requireValidName(_ name: [UInt8], _ type: FrameType) throws(ProtocolError) {
        do { _ = try PeerName(validating: name) } catch { throw .malformedBody(type) }
    }
}
