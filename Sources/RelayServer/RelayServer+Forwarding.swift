import RelayIO
import RelayProtocol

/// Forwarding: a run of DATA frames goes where the sender's room routes it (the other
/// peer unchanged, every other peer as DATA_FROM, or held for the next peer). The queues
/// report their backlog to the room (water marks), which decides whom to pause.
extension RelayServer {
    /// Forwards a run of whole DATA frames from `sender`.
    func forward(_ frames: UnsafeRawBufferPointer, from sender: Connection) {
        guard let room = sender.room else { return }
        switch room.route(from: sender.id) {
        case .peer(let id):
            if let receiver = connections[id], receiver.isOpen { receiver.forward(frames) } else { room.held.append(frames) }
        case .everyOther(let name):
            let tagged = dataFromFrames(frames, sender: name)
            tagged.withUnsafeBytes { bytes in
                for member in room.members where member.id != sender.id {
                    connections[member.id]?.forward(bytes)
                }
            }
        case .hold(let name):
            if let name {
                dataFromFrames(frames, sender: name).withUnsafeBytes { room.held.append($0) }
            } else {
                room.held.append(frames)
            }
        case .nowhere:
            break
        }
    }

    /// The run of DATA frames `frames` as DATA_FROM frames naming `sender` (PROTOCOL.md
    /// section 6): each body becomes `nameLen | name | sealed`, unchanged otherwise.
    func dataFromFrames(_ frames: UnsafeRawBufferPointer, sender: PeerName) -> [UInt8] {
        let name = sender.bytes
        var tagged: [UInt8] = []
        var offset = 0
        var frameCount = 0
        while offset + FrameHeader.byteCount <= frames.count {
            offset += 4 + Int(UInt32(bigEndian: frames.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            frameCount += 1
        }
        tagged.reserveCapacity(frames.count + frameCount * (1 + name.count))
        offset = 0
        while offset + FrameHeader.byteCount <= frames.count {
            let length = Int(UInt32(bigEndian: frames.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            FrameHeader(length: UInt32(length + 1 + name.count), type: .dataFrom).write(into: &tagged)
            tagged.append(UInt8(name.count))
            tagged.append(contentsOf: name)
            tagged.append(contentsOf: UnsafeRawBufferPointer(rebasing: frames[(offset + FrameHeader.byteCount)..<(offset + 4 + length)]))
            offset += 4 + length
        }
        return tagged
    }

    /// Smallest rest of a DATA body worth a pipe: below it, two splices and a pipe cost
    /// more than the copies they save.
    static let spliceThreshold = 32 * 1024
    /// Largest rest of a body spliced: a pipe's default maximum size (`pipe-max-size`).
    static let spliceLimit = 1 << 20

    /// When `rest` (what is left of `sender`'s input) starts a large DATA frame for the
    /// one other peer of a room of two, the rest of its body will move socket → pipe →
    /// socket with `splice`, never through user memory. The relay still forwards only
    /// whole frames: the pipe is handed to the receiver once the body is all in.
    func spliceIfLarge(_ rest: UnsafeRawBufferPointer, from sender: Connection) {
        let missing = sender.bytesToCompleteFrame
        guard !configuration.legacy, missing >= Self.spliceThreshold, missing <= Self.spliceLimit,
              rest.count >= FrameHeader.byteCount, rest[4] == FrameType.data.rawValue,
              sender.isOpen, !sender.isReadingPaused, sender.stream is PlainStream,
              case .peer(let id)? = sender.room?.route(from: sender.id),
              let receiver = connections[id], receiver.isOpen,
              let pipe = sender.pipe(capacity: Self.spliceLimit)
        else { return }
        sender.beginSplice(into: pipe, bodyBytes: missing)
    }

    /// The spliced body is whole: forward the frame's start (still in the sender's input)
    /// and then the pipe; if the receiver left meanwhile, hold the bytes as usual.
    func connectionSplicedFrame(_ sender: Connection, _ pipe: SplicePipe) {
        let head = sender.input.readableBytes
        if case .peer(let id)? = sender.room?.route(from: sender.id), let receiver = connections[id], receiver.isOpen {
            receiver.forward(head, then: pipe)
        } else if let room = sender.room {
            room.held.append(head)
            do {
                try room.held.appendSpliced(pipe)
            } catch {
                logger.error("cannot read a spliced frame back", metadata: ["error": "\(error)"])
            }
        }
        sender.input.consume(head.count)
    }
}

extension RelayServer: ConnectionDelegate {
    func connectionHasInput(_ connection: Connection) {
        processInput(of: connection)
    }

    func connectionReachedEndOfInput(_ connection: Connection) {
        if connection.input.readableCount > 0 {
            logger.debug("connection closed mid-frame", metadata: [
                "connection": "\(connection.id)", "unparsed-bytes": "\(connection.input.readableCount)",
            ])
        }
        depart(connection, reason: "end of input")
    }

    func connectionFailed(_ connection: Connection, _ error: IOError) {
        let during = connection.stream.isEstablished ? "connection failed" : "TLS handshake failed"
        logger.info("\(during)", metadata: [
            "connection": "\(connection.id)", "remote": "\(connection.remoteAddress)", "error": "\(error)",
        ])
        leaveRoom(connection, reason: "\(error)")
    }

    func connectionHandshakeTimedOut(_ connection: Connection) {
        // Without a completed TLS handshake there is nobody to tell: `close` just closes.
        refuse(connection, .handshakeTimeout,
               "no complete HELLO within \(configuration.handshakeTimeout) seconds")
    }

    func connectionDidClose(_ connection: Connection) {
        connections[connection.id] = nil
        pending.remove(connection.id)
        logger.debug("connection closed", metadata: ["connection": "\(connection.id)"])
        if isShuttingDown, connections.isEmpty { loop.stop() }
    }
}
