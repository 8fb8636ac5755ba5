import RelayCrypto
import RelayIO
import RelayProtocol
import RelayTLS

/// Reading frames: runs of whole DATA frames are forwarded as they sit in the receive
/// buffer (one write, no re-encoding); every other frame is decoded and applied. The
/// legacy format goes through the same loop: its frames are all DATA.
extension RelayServer {
    /// Processes every complete unit in `connection.input`, as the connection's
    /// ``FrameReader`` finds them: runs of DATA frames are forwarded as they sit in the
    /// receive buffer (one write, no re-encoding); every other frame is decoded and applied.
    func processInput(of connection: Connection) {
        if configuration.legacy, connection.phase == .handshaking {
            handleLegacyName(from: connection)
            if connection.phase == .handshaking || !connection.isOpen { return }
        }
        let bytes = connection.input.readableBytes
        var offset = 0
        var lastDataLength = 0
        while connection.isOpen {
            do {
                guard let unit = try connection.reader.next(in: bytes, at: offset) else { break }
                switch unit {
                case .dataRun(let range, _, let lastLength):
                    if connection.name == nil {
                        // Legacy only: DATA before a name (framed input before HELLO is
                        // refused by the reader).
                        refuse(connection, .unexpectedFrame, "DATA before the handshake")
                        return
                    }
                    forward(UnsafeRawBufferPointer(rebasing: bytes[range]), from: connection)
                    lastDataLength = lastLength
                case .control(let header, let body):
                    try handle(Frame.decode(type: header.type, body: UnsafeRawBufferPointer(rebasing: bytes[body])), from: connection)
                }
                offset = unit.end
            } catch {
                refuse(connection, error)
                return
            }
        }
        if connection.isOpen {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            connection.bytesToCompleteFrame = connection.reader.bytesMissing(in: bytes, at: offset)
            if lastDataLength > 0 { connection.expectsLargeFrame = lastDataLength > Self.spliceThreshold }
            connection.input.consume(offset)
            spliceIfLarge(rest, from: connection)
        }
    }

    /// Applies one decoded non-DATA frame (or a DATA frame before HELLO).
    private func handle(_ frame: Frame, from connection: Connection) {
        switch (frame, connection.phase) {
        case (.hello(let nameBytes), .handshaking):
            handleHello(nameBytes, room: .defaultRoom, speaksRooms: false, from: connection)
        case (.helloRoom(let nameBytes, let room), .handshaking):
            handleHello(nameBytes, room: RoomID(room), speaksRooms: true, from: connection)
        case (.ping(let body), .joined):
            connection.sendPong(body)
        case (.pong, .joined):
            break
        case (.bye, .joined):
            depart(connection, reason: "bye")
        case (_, .handshaking):
            refuse(connection, .unexpectedFrame, "the first frame must be HELLO, not \(frame.type)")
        case (.hello, _), (.helloRoom, _):
            refuse(connection, .unexpectedFrame, "HELLO was already received")
        default:
            refuse(connection, .unexpectedFrame, "\(frame.type) is not something a client sends")
        }
    }

    private func handleHello(_ nameBytes: [UInt8], room: RoomID, speaksRooms: Bool, from connection: Connection) {
        do {
            join(connection, as: try PeerName(validating: nameBytes), room: room, speaksRooms: speaksRooms)
        } catch {
            refuse(connection, .invalidName, error.reason)
        }
    }

    /// The legacy handshake: the bytes of the first read are the name (at most 255; the
    /// read asks for 256, so a 256th byte means too long). The answer is the raw key.
    private func handleLegacyName(from connection: Connection) {
        let firstRead = connection.input.readableBytes
        guard firstRead.count <= LegacyFraming.maximumNameCount else {
            refuse(connection, .invalidName, "a legacy name is at most \(LegacyFraming.maximumNameCount) bytes")
            return
        }
        do {
            let name = try LegacyFraming.name(from: firstRead)
            connection.input.consume(firstRead.count)
            join(connection, as: name, room: .defaultRoom, speaksRooms: false)
        } catch {
            refuse(connection, .invalidName, error.reason)
        }
    }

    /// A valid HELLO: the client certificate's names (mutual TLS), then `--max-peers`
    /// (BUSY), then the room's own rules (RELAY_FULL, NAME_TAKEN), in the contract's order.
    private func join(_ connection: Connection, as name: PeerName, room roomID: RoomID, speaksRooms: Bool) {
        if let tls, tls.requiresClientCertificates {
            let certified = (connection.stream as? TLSStream)?.verifiedPeerNames ?? []
            guard certified.contains(name.text) else {
                let issued = certified.isEmpty ? "no verified name" : certified.joined(separator: ", ")
                refuse(connection, .invalidName,
                       "the name '\(name.text)' does not match the client certificate (issued to: \(issued))")
                return
            }
        }
        guard joinedPeerCount < configuration.maxPeers else {
            refuse(connection, .busy, "the relay serves its maximum of \(configuration.maxPeers) peers; try again later")
            return
        }
        let room: Room
        if let existing = rooms[roomID] {
            room = existing
        } else {
            room = Room(id: roomID, capacity: roomID.isDefault ? 2 : configuration.roomSize,
                        queueLimit: configuration.queueLimit)
            room.held.onCongestionChange = { [unowned self, unowned room] above in
                apply(room.handle(.heldBacklog(aboveHighWater: above)), in: room)
            }
            rooms[roomID] = room
        }
        apply(room.handle(.hello(connection.id, name)), in: room, newcomer: (connection, speaksRooms))
        if room.members.isEmpty { rooms[roomID] = nil }
    }

    /// Carries out what a room decided, in order. `newcomer` is the connection whose
    /// HELLO the room was handling (the one a `.welcome` names), and whether it spoke
    /// version 2.
    func apply(_ actions: [Room.Action], in room: Room, newcomer: (connection: Connection, speaksRooms: Bool)? = nil) {
        for action in actions {
            switch action {
            case .welcome(let id, let peers):
                guard let (connection, speaksRooms) = newcomer, connection.id == id,
                      let name = room.member(id)?.name, let key = room.key
                else { continue }
                joinedPeerCount += 1
                pending.remove(id)
                connection.didJoin(
                    as: name, in: room, speaksRooms: speaksRooms,
                    waterMarks: OutputQueue.WaterMarks(low: configuration.queueLimit / 2, high: configuration.queueLimit),
                    onCongestionChange: { [unowned self, unowned connection] above in
                        guard let room = connection.room else { return }
                        apply(room.handle(.backlog(connection.id, aboveHighWater: above)), in: room)
                    })
                logger.debug("peer joined", metadata: [
                    "name": "\(name)", "room": "\(room.id)", "connection": "\(id)",
                    "remote": "\(connection.remoteAddress)", "peers-in-room": "\(room.members.count)",
                ])
                sendWelcome(to: connection, key: key, peers: peers.map(\.name), room: room)
            case .refuse(let id, let code, let message):
                if let connection = connections[id] { refuse(connection, code, message) }
            case .send(let frame, let id):
                // During shutdown every peer hears SHUTTING_DOWN instead; legacy has no
                // presence frames.
                if !isShuttingDown, !configuration.legacy { connections[id]?.send(frame) }
            case .deliverHeld(let id):
                guard let connection = connections[id] else { continue }
                room.held.moveAll(to: connection.output)
                connection.flush()
            case .pauseReading(let id):
                connections[id]?.hold(.receiverBacklog, true)
            case .resumeReading(let id):
                connections[id]?.hold(.receiverBacklog, false)
            case .end:
                rooms[room.id] = nil
                logger.info("room ended, key wiped", metadata: ["room": "\(room.id)"])
            }
        }
    }

    /// WELCOME is encoded by hand so that the key passes through one scratch array,
    /// wiped at once, instead of living on in a `Frame` value; the queue's copy is wiped
    /// as soon as it is written. Legacy: the raw key. A version 2 HELLO gets the version
    /// 2 layout (room size and every peer present), a version 1 HELLO the version 1 one.
    private func sendWelcome(to connection: Connection, key: SessionKey, peers: [PeerName], room: Room) {
        if configuration.legacy {
            key.withUnsafeBytes { connection.output.appendSecret($0) }
            connection.flush()
            return
        }
        var body: [UInt8] = []
        body.reserveCapacity(SessionKey.byteCount + 6 + peers.count * 33)
        key.withUnsafeBytes { body.append(contentsOf: $0) }
        Frame.appendBigEndian(configuration.maxFrame, to: &body)
        if connection.speaksRooms {
            body.append(UInt8(room.capacity))
            body.append(UInt8(peers.count))
            for peer in peers {
                body.append(UInt8(peer.bytes.count))
                body.append(contentsOf: peer.bytes)
            }
        } else {
            let peer = peers.first?.bytes ?? []
            body.append(UInt8(peer.count))
            body.append(contentsOf: peer)
        }
        var frame: [UInt8] = []
        frame.reserveCapacity(FrameHeader.byteCount + body.count)
        FrameHeader(length: UInt32(1 + body.count), type: .welcome).write(into: &frame)
        frame.append(contentsOf: body)
        frame.withUnsafeBytes { connection.output.appendSecret($0) }
        frame.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        body.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        connection.flush()
    }

    // MARK: Errors and departures

    func refuse(_ connection: Connection, _ error: ProtocolError) {
        let message: String = switch error {
        case .frameTooLarge(let length, let limit): "frame length \(length) is outside 1...\(limit)"
        case .unknownType(let type): "unknown frame type 0x\(String(type, radix: 16))"
        case .malformedBody(let type): "malformed \(type) frame"
        case .unsupportedVersion(let version): "protocol version \(version) is not supported; this relay speaks versions 1 and 2"
        case .expectedHello(let type): "the first frame must be HELLO, not \(type)"
        }
        refuse(connection, error.code, message)
    }

    /// Sends a fatal ERROR and closes that connection; the other peers only see PEER_LEFT.
    /// The legacy format has no ERROR frame: the connection is just closed.
    func refuse(_ connection: Connection, _ code: RelayErrorCode, _ message: String) {
        logger.notice("refusing connection", metadata: [
            "connection": "\(connection.id)", "remote": "\(connection.remoteAddress)",
            "error": "\(code.label)", "reason": "\(message)",
        ])
        leaveRoom(connection)
        connection.close(after: configuration.legacy ? nil : .error(code, message),
                         gracePeriod: configuration.closeGracePeriod)
    }

    /// A peer leaves in order (BYE or end of input): what it sent is already queued for
    /// the others, which now get PEER_LEFT; the leaver is closed.
    func depart(_ connection: Connection, reason: String) {
        leaveRoom(connection, reason: reason)
        connection.close(after: nil, gracePeriod: configuration.closeGracePeriod)
    }

    /// Takes `connection` out of its room: PEER_LEFT to the others, or, when none
    /// remains, the end of the room (key wiped, undelivered DATA dropped).
    func leaveRoom(_ connection: Connection, reason: String = "closed") {
        // By name from the room: a connection that failed is already closed.
        guard let room = connection.room, let name = room.member(connection.id)?.name else { return }
        let undelivered = room.members.count == 1 ? room.held.byteCount : 0
        connection.didLeaveRoom()
        joinedPeerCount -= 1
        logger.debug("peer left", metadata: [
            "name": "\(name)", "room": "\(room.id)", "reason": "\(reason)",
            "peers-in-room": "\(room.members.count - 1)", "undelivered-bytes": "\(undelivered)",
        ])
        apply(room.handle(.leave(connection.id)), in: room)
    }
}
