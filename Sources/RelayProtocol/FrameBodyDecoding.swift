extension Frame {
    /// Decodes a body against its type's row of the frame table.
    ///
    /// A WELCOME decodes as version 1's layout; a client that sent a version 2 HELLO
    /// reads its WELCOME with ``decodeWelcomeRoom(_:)``.
    ///
    /// HELLO's version is checked first: a version other than 1 or 2 is
    /// ``ProtocolError/unsupportedVersion(_:)`` whatever follows, since another version's
    /// layout is unknown. Name rules are not checked here (the server answers
    /// INVALID_NAME for those, see ``PeerName``), except that names the server sends
    /// (PEER_JOINED, PEER_LEFT, a WELCOME's peer) must be valid.
    public static func decode(type: FrameType, body: UnsafeRawBufferPointer) throws(ProtocolError) -> Frame {
        switch type {
        case .hello:
            guard body.count >= 1 else { throw .malformedBody(type) }
            switch body[0] {
            case protocolVersion:
                guard body.count >= 2, Int(body[1]) == body.count - 2 else { throw .malformedBody(type) }
                return .hello(name: Array(body[2...]))
            case roomsProtocolVersion:
                // version | nameLen | name | roomLen | room
                guard body.count >= 3 else { throw .malformedBody(type) }
                let nameEnd = 2 + Int(body[1])
                guard nameEnd < body.count else { throw .malformedBody(type) }
                let roomCount = Int(body[nameEnd])
                guard roomCount <= maximumRoomCount, nameEnd + 1 + roomCount == body.count else {
                    throw .malformedBody(type)
                }
                return .helloRoom(name: Array(body[2..<nameEnd]), room: Array(body[(nameEnd + 1)...]))
            default:
                throw .unsupportedVersion(body[0])
            }
        case .welcome:
            let welcome = try WelcomeBody(parsing: body)
            return .welcome(sessionKey: Array(body[welcome.sessionKeyRange]), maxFrame: welcome.maxFrame, peer: welcome.peer)
        case .peerJoined, .peerLeft:
            let name = Array(body)
            try requireValidName(name, type)
            return type == .peerJoined ? .peerJoined(name: name) : .peerLeft(name: name)
        case .data:
            return .data(Array(body))
        case .dataFrom:
            guard body.count >= 1, 1 + Int(body[0]) <= body.count else { throw .malformedBody(type) }
            let name = Array(body[1..<(1 + Int(body[0]))])
            try requireValidName(name, type)
            return .dataFrom(name: name, sealed: Array(body[(1 + Int(body[0]))...]))
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

extension Frame {
    /// Decodes a version 2 WELCOME body (PROTOCOL.md section 6):
    /// `sessionKey[32] | maxFrame:u32 | roomSize:u8 | count:u8 | count × (nameLen:u8 | name)`.
    public static func decodeWelcomeRoom(_ body: UnsafeRawBufferPointer) throws(ProtocolError) -> Frame {
        let keyCount = sessionKeyCount
        guard body.count >= keyCount + 6 else { throw .malformedBody(.welcome) }
        let maxFrame = body[keyCount..<(keyCount + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let roomSize = body[keyCount + 4]
        let count = Int(body[keyCount + 5])
        var offset = keyCount + 6
        var peers: [[UInt8]] = []
        for _ in 0..<count {
            guard offset < body.count, offset + 1 + Int(body[offset]) <= body.count else { throw .malformedBody(.welcome) }
            let name = Array(body[(offset + 1)..<(offset + 1 + Int(body[offset]))])
            try requireValidName(name, .welcome)
            peers.append(name)
            offset += 1 + name.count
        }
        guard offset == body.count else { throw .malformedBody(.welcome) }
        return .welcomeRoom(sessionKey: Array(body[0..<keyCount]), maxFrame: maxFrame, roomSize: roomSize, peers: peers)
    }
}
