import RelayIO
import RelayProtocol

/// Forwarding and backpressure: DATA goes to the other peer's output queue, or is held
/// for a peer not yet joined; a sender is not read while what it is owed to write, or
/// what its receiver is owed, is at the queue limit.
extension RelayServer {
    /// Forwards a run of whole DATA frames from `sender`, unchanged.
    func forward(_ frames: UnsafeRawBufferPointer, from sender: Connection) {
        if let peer = session.peer(of: sender.id), let receiver = connections[peer.id], receiver.isOpen {
            receiver.forward(frames)
        } else {
            pendingForAbsentPeer.append(frames)
        }
    }

    /// Smallest rest of a DATA body worth a pipe: below it, two splices and a pipe cost
    /// more than the copies they save.
    static let spliceThreshold = 32 * 1024
    /// Largest rest of a body spliced: a pipe's default maximum size (`pipe-max-size`).
    static let spliceLimit = 1 << 20

    /// When `rest` (what is left of `sender`'s input) starts a large DATA frame and the
    /// receiver is there, the rest of its body will move socket → pipe → socket with
    /// `splice`, never through user memory. The relay still forwards only whole frames:
    /// the pipe is handed to the receiver once the body is all in.
    func spliceIfLarge(_ rest: UnsafeRawBufferPointer, from sender: Connection) {
        let missing = sender.bytesToCompleteFrame
        guard !configuration.legacy, missing >= Self.spliceThreshold, missing <= Self.spliceLimit,
              rest.count >= FrameHeader.byteCount, rest[4] == FrameType.data.rawValue,
              sender.name != nil, sender.isOpen, !sender.isReadingPaused, sender.stream is PlainStream,
              let peer = session.peer(of: sender.id), let receiver = connections[peer.id], receiver.isOpen,
              let pipe = sender.pipe(capacity: Self.spliceLimit)
        else { return }
        sender.beginSplice(into: pipe, bodyBytes: missing)
    }

    /// The spliced body is whole: forward the frame's start (still in the sender's input)
    /// and then the pipe; if the receiver left meanwhile, hold the bytes as usual.
    func connectionSplicedFrame(_ sender: Connection, _ pipe: SplicePipe) {
        let head = sender.input.readableBytes
        if let peer = session.peer(of: sender.id), let receiver = connections[peer.id], receiver.isOpen {
            receiver.forward(head, then: pipe)
        } else {
            pendingForAbsentPeer.append(head)
            do {
                try pendingForAbsentPeer.appendSpliced(pipe)
            } catch {
                logger.error("cannot read a spliced frame back", metadata: ["error": "\(error)"])
            }
        }
        sender.input.consume(head.count)
        updateReading(sender)
    }

    /// Bytes owed to whoever receives `sender`'s DATA.
    private func backlogOwed(by sender: Connection) -> Int {
        guard sender.name != nil else { return 0 }
        if let peer = session.peer(of: sender.id), let receiver = connections[peer.id] {
            return receiver.output.byteCount
        }
        return pendingForAbsentPeer.byteCount
    }

    /// PONG bytes the relay holds for one peer before it stops reading that peer
    /// (PROTOCOL.md section 6).
    static let heldPongLimit = 64 * 1024

    /// Reads from `connection` while every queue its input feeds has room: the queue of
    /// whoever receives its DATA (paused at `--queue-limit`, resumed below half of it)
    /// and its own queue's PONGs (paused above ``heldPongLimit``). What others send to
    /// `connection` never pauses it: the two directions are independent.
    func updateReading(_ connection: Connection) {
        guard connection.isOpen else { return }
        let limit = configuration.queueLimit
        let owed = backlogOwed(by: connection)
        let pongsHeld = connection.heldPongBytes
        if connection.isReadingPaused {
            if owed < limit / 2, pongsHeld <= Self.heldPongLimit { connection.resumeReading() }
        } else if owed >= limit || pongsHeld > Self.heldPongLimit {
            connection.pauseReading()
        }
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

    func connectionDidWrite(_ connection: Connection) {
        updateReading(connection)
        if let peer = session.peer(of: connection.id), let sender = connections[peer.id] {
            updateReading(sender)
        }
    }

    func connectionFailed(_ connection: Connection, _ error: IOError) {
        let during = connection.stream.isEstablished ? "connection failed" : "TLS handshake failed"
        logger.info("\(during)", metadata: [
            "connection": "\(connection.id)", "remote": "\(connection.remoteAddress)", "error": "\(error)",
        ])
        leaveSession(connection, reason: "\(error)")
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
