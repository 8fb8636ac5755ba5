#if canImport(Glibc)
import Glibc
#endif
import RelayIO
import RelayProtocol

/// What a connection tells the relay about; all calls happen on the loop's thread.
protocol ConnectionDelegate: AnyObject {
    /// New bytes are in `connection.input`.
    func connectionHasInput(_ connection: Connection)
    /// The peer closed its sending side; everything it sent has been reported.
    func connectionReachedEndOfInput(_ connection: Connection)
    /// The body of the large DATA frame whose start is in `connection.input` is now
    /// whole in `pipe` (see ``Connection/beginSplice(into:bodyBytes:)``).
    func connectionSplicedFrame(_ connection: Connection, _ pipe: SplicePipe)
    /// The stream failed (reset, broken pipe, TLS error); the connection is already closed.
    func connectionFailed(_ connection: Connection, _ error: IOError)
    /// The handshake deadline passed.
    func connectionHandshakeTimedOut(_ connection: Connection)
    /// The descriptor is closed; forget the connection.
    func connectionDidClose(_ connection: Connection)
}

/// One accepted socket: its watchers, its receive buffer and its output queue, and the
/// orderly close (flush, half-close, linger) that lets a last ERROR frame arrive.
/// The protocol decisions belong to the relay; this type moves bytes.
final class Connection {
    /// Where the connection is in its life.
    enum Phase: Equatable {
        /// Accepted; waiting for HELLO.
        case handshaking
        /// Joined the session under this name.
        case joined(PeerName)
        /// Flushing its last bytes, then half-closed and lingering until the client
        /// closes, so that unread input does not turn the close into a reset.
        case closing
        /// The descriptor is closed.
        case closed
    }

    /// Bytes read per wake-up once joined: large reads keep syscalls per byte low.
    static let joinedReadSize = 256 * 1024
    /// Bytes the partial frame at the end of the input still lacks (0: none or unknown).
    /// A read asks for at least that many, so a large frame completes in few reads and
    /// ends at the end of the buffer (nothing left over to move to the front).
    var bytesToCompleteFrame = 0
    /// Bytes read at a frame boundary after a large frame: another large frame probably
    /// follows, and the less of it is read, the more of it can be spliced.
    static let afterLargeFrameReadSize = 16 * 1024
    /// Set by the relay when the last DATA frame from this connection was large.
    var expectsLargeFrame = false
    /// The pipe of the last spliced frame, taken again once it is empty.
    private var lastPipe: SplicePipe?
    /// While the rest of a large DATA frame's body moves from the socket into a pipe
    /// (plain TCP): the pipe and the bytes still to move. Reads wait until it is done.
    private var splice: (pipe: SplicePipe, remaining: Int)?
    /// Bytes read per wake-up during the handshake (and while closing), so idle
    /// handshakes stay small. A legacy handshake reads 256: a name is one read of at
    /// most 255 bytes, and a 256th byte proves it too long.
    let handshakeReadSize: Int

    let id: ConnectionID
    let stream: ByteStream
    /// `HOST:PORT` of the client, for logs.
    let remoteAddress: String
    private(set) var phase = Phase.handshaking
    let input: InputBuffer
    let output: OutputQueue
    /// Why reading is held back; the connection is read only while there is no reason.
    struct ReadHolds: OptionSet {
        let rawValue: UInt8
        /// A receiver of this connection's DATA is at its limit (its room says so).
        static let receiverBacklog = ReadHolds(rawValue: 1)
        /// More than ``Connection/heldPongLimit`` PONG bytes wait for this connection.
        static let unreadPongs = ReadHolds(rawValue: 2)
    }
    private var readHolds: ReadHolds = []
    /// True while the relay holds reading back (backpressure).
    var isReadingPaused: Bool { !readHolds.isEmpty }
    /// Finds the frames in `input`; before HELLO it accepts only a short HELLO.
    var reader: FrameReader
    /// The room this connection joined, while it is a member.
    var room: Room?
    /// True when it joined with a version 2 HELLO (its WELCOME has the v2 layout).
    private(set) var speaksRooms = false
    /// PONG bytes the relay holds for one peer before it stops reading that peer
    /// (PROTOCOL.md section 6).
    static let heldPongLimit = 64 * 1024
    private var sawEndOfInput = false
    private var pongs = HeldBytes()
    private var isHalfClosed = false

    private weak var delegate: ConnectionDelegate?
    private var readWatcher: IOWatcher!
    private var writeWatcher: IOWatcher!
    private var deadline: TimerWatcher!

    /// Pipes this connection's spliced frames may hold open at once (each until its
    /// receiver has written it out), drawn from the relay's total.
    private let pipeBudget: PipeBudget

    /// Pipes one connection may hold open at once; beyond it large frames are copied.
    static let pipesPerConnection = 4

    init(id: ConnectionID, stream: ByteStream, remoteAddress: String, reader: FrameReader, handshakeReadSize: Int,
         loop: EventLoop, pipes: PipeBudget, readBuffers: BufferPool, queueChunks: BufferPool,
         delegate: ConnectionDelegate) {
        self.id = id
        self.reader = reader
        pipeBudget = PipeBudget(limit: Self.pipesPerConnection, parent: pipes)
        self.stream = stream
        let fd = stream.fd
        self.handshakeReadSize = handshakeReadSize
        input = InputBuffer(capacity: handshakeReadSize, pool: readBuffers)
        self.remoteAddress = remoteAddress
        self.delegate = delegate
        output = OutputQueue(stream: stream, chunkPool: queueChunks)
        // unowned, not weak: a weak reference gives the connection a side table, and every
        // retain and release then takes the slow path (about 450 instructions per forwarded
        // message). The watchers belong to this connection and are stopped before it goes
        // (`invalidate()`, or their deinit), so no handler runs without it.
        readWatcher = IOWatcher(loop: loop, fd: fd, events: .read) { [unowned self] _ in handleReadable() }
        writeWatcher = IOWatcher(loop: loop, fd: fd, events: .write) { [unowned self] _ in handleWritable() }
        deadline = TimerWatcher(loop: loop) { [unowned self] in handleDeadline() }
    }

    /// The joined name, if any.
    var name: PeerName? {
        if case .joined(let name) = phase { name } else { nil }
    }

    /// True while frames from this connection are still processed.
    var isOpen: Bool { phase != .closing && phase != .closed }

    /// Starts reading and the handshake deadline.
    func start(handshakeTimeout: Double) {
        readWatcher.start()
        deadline.start(after: handshakeTimeout)
    }

    /// Records a successful HELLO: the deadline ends, reads grow, and the output queue
    /// reports its backlog against `waterMarks` to `onCongestionChange`.
    func didJoin(as name: PeerName, in room: Room, speaksRooms: Bool, waterMarks: OutputQueue.WaterMarks,
                 onCongestionChange: @escaping (Bool) -> Void) {
        phase = .joined(name)
        reader.expectsHello = false
        self.room = room
        self.speaksRooms = speaksRooms
        deadline.stop()
        output.waterMarks = waterMarks
        output.onCongestionChange = onCongestionChange
    }

    /// Leaves the room: the queue no longer reports to it.
    func didLeaveRoom() {
        room = nil
        output.onCongestionChange = nil
    }

    // MARK: Backpressure

    /// Adds or removes a reason to hold reading back; reading stops with the first reason
    /// and starts again when none is left.
    func hold(_ reason: ReadHolds, _ isHeld: Bool) {
        guard isOpen else { return }
        let wasPaused = isReadingPaused
        if isHeld { readHolds.insert(reason) } else { readHolds.remove(reason) }
        if !wasPaused, isReadingPaused {
            readWatcher.stop()
        } else if wasPaused, !isReadingPaused {
            readWatcher.start()
            if stream.hasBufferedInput { readWatcher.feed(.read) }
        }
    }

    /// Holds reading back while more than ``heldPongLimit`` PONG bytes wait unwritten.
    private func updatePongHold() {
        let held = pongs.count(in: output) > Self.heldPongLimit
        if held != readHolds.contains(.unreadPongs) { hold(.unreadPongs, held) }
    }

    // MARK: Output

    /// Answers a PING: queues its PONG (counted until written, since a peer that does not
    /// read its PONGs is bounded on their own) and writes what the socket takes now.
    func sendPong(_ body: [UInt8]) {
        guard phase != .closed else { return }
        let frame = Frame.pong(body).encoded()
        output.append(frame)
        pongs.add(frame.count, appendedTo: output)
        flush()
        updatePongHold()
    }

    /// Queues a frame and writes what the socket takes now (with nothing queued, written
    /// straight from the encoding: an idle connection keeps no queue chunk).
    func send(_ frame: Frame) {
        guard phase != .closed else { return }
        frame.encoded().withUnsafeBytes { forward($0) }
    }

    /// Queues already-encoded bytes (a run of whole frames) and writes what the socket
    /// takes now; with an empty queue this is one write and no copy.
    func forward(_ frames: UnsafeRawBufferPointer) {
        guard phase != .closed else { return }
        do {
            if try !output.writeOrAppend(frames) { writeWatcher.start() }
        } catch {
            fail(error)
        }
    }

    /// Queues a frame's start and the rest of its body waiting in `pipe`, and writes what
    /// the socket takes now (the pipe's bytes are spliced, not copied).
    func forward(_ head: UnsafeRawBufferPointer, then pipe: SplicePipe) {
        guard phase != .closed else { return }
        do {
            let headWritten = try output.writeOrAppend(head)
            try output.appendSpliced(pipe)
            // Behind an unwritten head, the pipe waits for the write watcher.
            var flushed = false
            if headWritten { flushed = try output.flush() }
            if !flushed { writeWatcher.start() }
        } catch {
            fail(error)
        }
    }

    /// An empty pipe of at least `capacity` bytes: the last one again once the receiver
    /// has taken everything from it, else a new one (nil when the system refuses one).
    func pipe(capacity: Int) -> SplicePipe? {
        if let lastPipe, lastPipe.count == 0, lastPipe.capacity >= capacity { return lastPipe }
        lastPipe = SplicePipe(capacity: capacity, budget: pipeBudget)
        return lastPipe
    }

    /// From now on the socket's next `bodyBytes` bytes (the rest of the DATA frame whose
    /// start is in `input`) go into `pipe` instead of the input buffer; the delegate hears
    /// `connectionSplicedFrame` once they are all in, or end of input if they never come.
    func beginSplice(into pipe: SplicePipe, bodyBytes: Int) {
        precondition(splice == nil && bodyBytes > 0 && bodyBytes <= pipe.capacity - pipe.count)
        splice = (pipe, bodyBytes)
    }

    /// Writes queued bytes now, as far as the socket takes them.
    func flush() {
        guard phase != .closed else { return }
        do {
            if try output.flush() {
                writeWatcher.stop()
                if phase == .closing { halfCloseAndLinger() }
            } else {
                writeWatcher.start()
            }
        } catch {
            fail(error)
        }
    }

    // MARK: Closing

    /// Sends `frame` (if any) as the last frame, then closes in order: flush, half-close,
    /// linger until the client closes or `gracePeriod` passes. Input is discarded.
    func close(after frame: Frame?, gracePeriod: Double) {
        guard isOpen else { return }
        // Before a TLS handshake completes there is no channel to say anything on.
        guard stream.isEstablished else {
            abort()
            return
        }
        phase = .closing
        splice = nil
        readHolds = []
        output.onCongestionChange = nil
        if !sawEndOfInput { readWatcher.start() }
        deadline.start(after: gracePeriod)
        if let frame { output.append(frame.encoded()) }
        flush()
    }

    /// Closes the descriptor now, dropping whatever is queued.
    func abort() {
        guard phase != .closed else { return }
        phase = .closed
        splice = nil
        readWatcher.invalidate()
        writeWatcher.invalidate()
        deadline.invalidate()
        output.removeAll()
        Glibc.close(stream.fd)
        delegate?.connectionDidClose(self)
    }

    /// Everything is written: close now if the client has finished sending, else
    /// half-close and keep discarding its input until it closes or the deadline passes.
    private func halfCloseAndLinger() {
        if sawEndOfInput {
            abort()
        } else if !isHalfClosed {
            isHalfClosed = true
            stream.closeWrite()
        }
    }

    /// A plaintext client reached a TLS server: answer in plaintext, with a real ERROR
    /// frame, so it fails with a clear message instead of a reset. What it sent is read
    /// and discarded first, so the close does not turn into a reset.
    private func refusePlaintextClient() {
        let plain = discardPendingInput()
        let frame = Frame.error(.malformed, "this relay speaks TLS; connect without --insecure-plaintext").encoded()
        _ = try? frame.withUnsafeBytes { bytes throws(IOError) in try plain.write(bytes) }
        plain.closeWrite()
        fail(.notTLS)
    }

    /// Reads and drops what the socket holds (at most 64 KiB, so a flood cannot hold the
    /// loop), so that closing it sends FIN, not a reset that could destroy the last bytes
    /// we wrote before the client reads them.
    @discardableResult
    private func discardPendingInput() -> PlainStream {
        let plain = PlainStream(fd: stream.fd)
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            guard case .processed(let count)? = try? scratch.withUnsafeMutableBytes({ try plain.read(into: $0) }),
                  count > 0
            else { break }
        }
        return plain
    }

    private func fail(_ error: IOError) {
        let wasOpen = isOpen
        // A failed TLS handshake has just written its alert (say, "certificate required"):
        // let the client read it.
        if wasOpen, !stream.isEstablished { discardPendingInput() }
        abort()
        if wasOpen { delegate?.connectionFailed(self, error) }
    }

    // MARK: Events

    private func handleReadable() {
        if splice != nil, phase != .closing {
            handleSpliceReadable()
            return
        }
        let joinedReadSize = expectsLargeFrame && input.readableCount == 0 ? Self.afterLargeFrameReadSize : Self.joinedReadSize
        let readSize = phase == .handshaking || phase == .closing
            ? handshakeReadSize : max(joinedReadSize, bytesToCompleteFrame)
        let result: IOResult
        do {
            result = try input.read(from: stream, limit: readSize)
        } catch .notTLS {
            refusePlaintextClient()
            return
        } catch {
            fail(error)
            return
        }
        switch (result, phase) {
        case (.wouldBlock, _), (_, .closed):
            return
        case (.processed(0), .closing):
            sawEndOfInput = true
            readWatcher.stop()
            if output.isEmpty { abort() }
        case (.processed, .closing):
            input.consume(input.readableCount)
        case (.processed(0), _):
            sawEndOfInput = true
            readWatcher.stop()
            delegate?.connectionReachedEndOfInput(self)
        case (.processed, _):
            delegate?.connectionHasInput(self)
            // Between frames the connection gives its receive buffer back: idle, it holds
            // none.
            if phase != .handshaking, splice == nil { input.releaseIfEmpty() }
            // A TLS layer may hold decrypted input the socket will not signal again.
            if isOpen, !isReadingPaused, stream.hasBufferedInput { readWatcher.feed(.read) }
        }
    }

    private func handleSpliceReadable() {
        guard let (pipe, remaining) = splice else { return }
        let result: IOResult
        do {
            result = try pipe.fill(from: stream.fd, limit: remaining)
        } catch {
            fail(error)
            return
        }
        switch result {
        case .wouldBlock:
            return
        case .processed(0):
            // The sender left mid-frame: the frame is dropped whole, never forwarded in part.
            splice = nil
            sawEndOfInput = true
            readWatcher.stop()
            delegate?.connectionReachedEndOfInput(self)
        case .processed(let moved) where moved < remaining:
            splice = (pipe, remaining - moved)
        case .processed:
            splice = nil
            bytesToCompleteFrame = 0
            expectsLargeFrame = true
            delegate?.connectionSplicedFrame(self, pipe)
            input.releaseIfEmpty()
        }
    }

    private func handleWritable() {
        flush()
        if phase != .closed, readHolds.contains(.unreadPongs) { updatePongHold() }
    }

    private func handleDeadline() {
        switch phase {
        case .handshaking: delegate?.connectionHandshakeTimedOut(self)
        case .closing: abort()
        case .joined, .closed: break
        }
    }
}
