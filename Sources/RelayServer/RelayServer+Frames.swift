import RelayCrypto
import RelayIO
import RelayProtocol
import RelayTLS

/// Reading frames: runs of whole DATA frames are forwarded as they sit in the receive
/// buffer (one write, no re-encoding); every other frame is decoded and applied. The
/// legacy format goes through the same loop: its frames are all DATA.
extension RelayServer {
    /// What the next bytes of a connection's input hold.
    private enum InputUnit {
        /// A whole DATA frame of this many bytes, to be forwarded as it is.
        case data(frameCount: Int)
        /// A whole v1 control frame (or DATA before HELLO), to be decoded and applied.
        case control(FrameHeader)
    }

    /// The next whole unit at the start of `bytes`, or nil when more bytes are needed.
    private func nextUnit(in bytes: UnsafeRawBufferPointer, joined: Bool) throws(ProtocolError) -> InputUnit? {
        if configuration.legacy {
            guard let count = try LegacyFraming.frameCount(at: bytes, maxFrame: configuration.maxFrame),
                  bytes.count >= count
            else { return nil }
            return .data(frameCount: count)
        }
        // Before HELLO the header alone decides (anything but a short HELLO is refused),
        // so a connection that has not joined never makes the relay hold a body.
        let header = joined
            ? try FrameHeader.parse(bytes, maxFrame: configuration.maxFrame)
            : try FrameHeader.parseFirst(bytes, maxFrame: configuration.maxFrame)
        guard let header, bytes.count >= header.frameCount else { return nil }
        return header.type == .data && joined ? .data(frameCount: header.frameCount) : .control(header)
    }

    /// Processes every complete frame in `connection.input`.
    func processInput(of connection: Connection) {
        if configuration.legacy, connection.phase == .handshaking {
            handleLegacyName(from: connection)
            if connection.phase == .handshaking || !connection.isOpen { return }
        }
        let bytes = connection.input.readableBytes
        var offset = 0
        var runStart: Int?
        var lastDataLength = 0

        func forwardRun(until end: Int) {
            if let start = runStart, end > start {
                forward(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), from: connection)
            }
            runStart = nil
        }

        while connection.isOpen {
            if !configuration.legacy, connection.name != nil {
                let (end, lastLength) = endOfDataRun(in: bytes, from: offset)
                if end > offset {
                    lastDataLength = lastLength
                    if runStart == nil { runStart = offset }
                    offset = end
                }
            }
            let unit: InputUnit
            do {
                guard let next = try nextUnit(in: UnsafeRawBufferPointer(rebasing: bytes[offset...]),
                                              joined: connection.name != nil)
                else { break }
                unit = next
            } catch {
                forwardRun(until: offset)
                refuse(connection, error)
                return
            }
            switch unit {
            case .data(let frameCount):
                if runStart == nil { runStart = offset }
                offset += frameCount
            case .control(let header):
                forwardRun(until: offset)
                let body = UnsafeRawBufferPointer(
                    rebasing: bytes[(offset + FrameHeader.byteCount)..<(offset + header.frameCount)])
                offset += header.frameCount
                do {
                    try handle(Frame.decode(type: header.type, body: body), from: connection)
                } catch {
                    refuse(connection, error)
                    return
                }
            }
        }
        forwardRun(until: offset)
        if connection.isOpen {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            connection.bytesToCompleteFrame = bytesToComplete(rest)
            if lastDataLength > 0 { connection.expectsLargeFrame = lastDataLength > Self.spliceThreshold }
            connection.input.consume(offset)
            spliceIfLarge(rest, from: connection)
            updateReading(connection)
        }
    }

    /// The end of the run of whole, valid DATA frames starting at `offset` (v1, joined
    /// sender), and the last one's length: the forwarding hot loop, a header check per
    /// frame and no calls. It stops at anything else (a control frame, a partial frame, a
    /// header to refuse), which the full parser then handles.
    private func endOfDataRun(in bytes: UnsafeRawBufferPointer, from start: Int) -> (end: Int, lastLength: Int) {
        guard let base = bytes.baseAddress else { return (start, 0) }
        let count = bytes.count
        let maxFrame = Int(configuration.maxFrame)
        let dataType = FrameType.data.rawValue
        var offset = start
        var lastLength = 0
        while count - offset >= FrameHeader.byteCount {
            let header = base + offset
            let length = Int(UInt32(bigEndian: header.loadUnaligned(as: UInt32.self)))
            guard header.load(fromByteOffset: 4, as: UInt8.self) == dataType, length >= 1, length <= maxFrame,
                  count - offset - 4 >= length
            else { break }
            offset += 4 + length
            lastLength = length
        }
        return (offset, lastLength)
    }

    /// Bytes still missing from the partial frame at the start of `rest` (both formats
    /// start with a 4-byte length that counts what follows it), or 0 when unknown.
    private func bytesToComplete(_ rest: UnsafeRawBufferPointer) -> Int {
        guard rest.count >= 4 else { return 0 }
        let length = Int(UInt32(bigEndian: rest.loadUnaligned(as: UInt32.self)))
        guard length <= Int(configuration.maxFrame) else { return 0 }
        return max(0, 4 + length - rest.count)
    }

    /// Applies one decoded non-DATA frame (or a DATA frame before HELLO).
    private func handle(_ frame: Frame, from connection: Connection) {
        switch (frame, connection.phase) {
        case (.hello(let nameBytes), .handshaking):
            handleHello(nameBytes, from: connection)
        case (.ping(let body), .joined):
            connection.sendPong(body)
            updateReading(connection)
        case (.pong, .joined):
            break
        case (.bye, .joined):
            depart(connection, reason: "bye")
        case (_, .handshaking):
            refuse(connection, .unexpectedFrame, "the first frame must be HELLO, not \(frame.type)")
        case (.hello, _):
            refuse(connection, .unexpectedFrame, "HELLO was already received")
        default:
            refuse(connection, .unexpectedFrame, "\(frame.type) frames are sent by the server, not by clients")
        }
    }

    private func handleHello(_ nameBytes: [UInt8], from connection: Connection) {
        do {
            join(connection, as: try PeerName(validating: nameBytes))
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
            join(connection, as: name)
        } catch {
            refuse(connection, .invalidName, error.reason)
        }
    }

    private func join(_ connection: Connection, as name: PeerName) {
        if let tls, tls.requiresClientCertificates {
            let certified = (connection.stream as? TLSStream)?.verifiedPeerNames ?? []
            guard certified.contains(name.text) else {
                let issued = certified.isEmpty ? "no verified name" : certified.joined(separator: ", ")
                refuse(connection, .invalidName,
                       "the name '\(name.text)' does not match the client certificate (issued to: \(issued))")
                return
            }
        }
        switch session.join(connection.id, name: name) {
        case .refused(let code, let message):
            refuse(connection, code, message)
        case .joined(let key, let peer):
            connection.didJoin(as: name)
            pending.remove(connection.id)
            logger.info("peer joined", metadata: [
                "name": "\(name)", "connection": "\(connection.id)", "remote": "\(connection.remoteAddress)",
                "peer": "\(peer?.name.text ?? "-")",
            ])
            sendWelcome(to: connection, key: key, peer: peer?.name)
            if let peer, let peerConnection = connections[peer.id] {
                if !configuration.legacy { peerConnection.send(.peerJoined(name: name.bytes)) }
                pendingForAbsentPeer.moveAll(to: connection.output)
                connection.flush()
            }
            updateReading(connection)
            if let peer, let peerConnection = connections[peer.id] { updateReading(peerConnection) }
        }
    }

    /// WELCOME is encoded by hand so that the key passes through one scratch array,
    /// wiped at once, instead of living on in a `Frame` value; the queue's copy is wiped
    /// as soon as it is written. Legacy: the raw key.
    private func sendWelcome(to connection: Connection, key: SessionKey, peer: PeerName?) {
        if configuration.legacy {
            key.withUnsafeBytes { connection.output.appendSecret($0) }
            connection.flush()
            return
        }
        var frame: [UInt8] = []
        let peerBytes = peer?.bytes ?? []
        let bodyCount = SessionKey.byteCount + 4 + 1 + peerBytes.count
        frame.reserveCapacity(FrameHeader.byteCount + bodyCount)
        FrameHeader(length: UInt32(1 + bodyCount), type: .welcome).write(into: &frame)
        key.withUnsafeBytes { frame.append(contentsOf: $0) }
        let maxFrame = configuration.maxFrame
        frame.append(contentsOf: [UInt8(maxFrame >> 24), UInt8(maxFrame >> 16 & 0xFF), UInt8(maxFrame >> 8 & 0xFF), UInt8(maxFrame & 0xFF)])
        frame.append(UInt8(peerBytes.count))
        frame.append(contentsOf: peerBytes)
        frame.withUnsafeBytes { connection.output.appendSecret($0) }
        frame.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        connection.flush()
    }

    // MARK: Errors and departures

    func refuse(_ connection: Connection, _ error: ProtocolError) {
        let message: String = switch error {
        case .frameTooLarge(let length, let limit): "frame length \(length) is outside 1...\(limit)"
        case .unknownType(let type): "unknown frame type 0x\(String(type, radix: 16))"
        case .malformedBody(let type): "malformed \(type) frame"
        case .unsupportedVersion(let version): "protocol version \(version) is not supported; this relay speaks version 1"
        case .expectedHello(let type): "the first frame must be HELLO, not \(type)"
        }
        refuse(connection, error.code, message)
    }

    /// Sends a fatal ERROR and closes that connection; the other peer only sees PEER_LEFT.
    /// The legacy format has no ERROR frame: the connection is just closed.
    func refuse(_ connection: Connection, _ code: RelayErrorCode, _ message: String) {
        logger.notice("refusing connection", metadata: [
            "connection": "\(connection.id)", "remote": "\(connection.remoteAddress)",
            "error": "\(code.label)", "reason": "\(message)",
        ])
        leaveSession(connection)
        connection.close(after: configuration.legacy ? nil : .error(code, message),
                         gracePeriod: configuration.closeGracePeriod)
    }

    /// A peer leaves in order (BYE or end of input): what it sent is already queued for
    /// the other, which now gets PEER_LEFT; the leaver is closed.
    func depart(_ connection: Connection, reason: String) {
        leaveSession(connection, reason: reason)
        connection.close(after: nil, gracePeriod: configuration.closeGracePeriod)
    }

    /// Takes `connection` out of the session: PEER_LEFT to the other peer, or, when none
    /// remains, the end of the session (key wiped, undelivered DATA dropped).
    func leaveSession(_ connection: Connection, reason: String = "closed") {
        guard let (left, remaining) = session.leave(connection.id) else { return }
        if let remaining, let other = connections[remaining.id] {
            // During shutdown the other peer hears SHUTTING_DOWN instead; legacy has no
            // PEER_LEFT.
            if !isShuttingDown, !configuration.legacy { other.send(.peerLeft(name: left.name.bytes)) }
            logger.info("peer left", metadata: ["name": "\(left.name)", "reason": "\(reason)"])
        } else {
            let dropped = pendingForAbsentPeer.byteCount
            pendingForAbsentPeer.removeAll()
            logger.info("peer left; session ended, key wiped", metadata: [
                "name": "\(left.name)", "reason": "\(reason)", "undelivered-bytes": "\(dropped)",
            ])
        }
        // Whoever fed this connection's queue may read again.
        if let remaining, let other = connections[remaining.id] { updateReading(other) }
    }
}
