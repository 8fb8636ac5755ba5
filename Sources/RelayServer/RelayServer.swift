#if canImport(Glibc)
import Glibc
#endif
import Logging
import RelayIO
import RelayProtocol
import RelayTLS

/// The relay: a single-threaded libev reactor serving many rooms (PROTOCOL.md section 6),
/// each a session of named peers that share a key the relay draws. It forwards DATA
/// frames unchanged (or tagged with the sender, in group rooms), with backpressure and
/// bounded memory, and never decrypts what it relays. The rules live in ``Room`` and
/// ``PendingAdmission``; this type carries out what they decide.
///
/// Use: `let address = try server.start()`, then `server.run()` on the same thread;
/// `run()` returns after SIGINT/SIGTERM (or ``requestShutdown()``) once every connection
/// is closed or the grace period has passed.
public final class RelayServer {
    let configuration: RelayServerConfiguration
    let logger: Logger
    /// TLS for every connection, or nil for plain TCP (`--insecure-plaintext`, `--legacy`).
    let tls: TLSServerContext?
    let loop: EventLoop

    /// The rooms with at least one peer, by id (the default room among them).
    var rooms: [RoomID: Room] = [:]
    /// Peers joined in all rooms together (`--max-peers`).
    var joinedPeerCount = 0
    var connections: [ConnectionID: Connection] = [:]
    private var nextConnectionID = 1

    private var listenerFD: Int32 = -1
    private var acceptWatcher: IOWatcher?
    private var acceptPause: TimerWatcher?
    private var isAcceptPausedForDescriptors = false
    private var connectionsRefusedOverLimit = 0
    private var connectionsClosedForNewcomers = 0
    /// Receive buffers, lent to connections while they hold unparsed bytes.
    let readBuffers = BufferPool(bufferSize: Connection.joinedReadSize)
    /// The memory of output queue chunks, shared by the connections: written chunks are
    /// reused by the next backlog (warm pages, no fault per chunk) and an idle connection
    /// keeps none. Holds at most 4 spare chunks of up to 1 MiB (a backlog gives one back
    /// for each it takes, so a few are enough).
    let queueChunks = OutputQueue.makeChunkPool(maximumSpares: 4)
    /// Kernel pipes for spliced frames, bounded in total (`maxPipes`).
    let pipes: PipeBudget
    /// The slots of connections not yet joined (`--max-connections`,
    /// `--max-pending-per-address`).
    var pending: PendingAdmission
    private var signalWatchers: [SignalWatcher] = []
    private var shutdownTimer: TimerWatcher?
    private(set) var isShuttingDown = false

    /// Buffers from this size up are mapped on their own (see ``ProcessMemory``), so the
    /// relay's peak memory follows its backlog rather than the heap's history.
    static let mappedAllocationSize = 64 * 1024
    /// Bytes read per wake-up before HELLO: a HELLO is at most 104 bytes, and nothing else
    /// is accepted before it, so a connection that has not joined holds at most this plus
    /// an unfinished HELLO in its receive buffer.
    static let handshakeReadSize = 256
    /// Accepts per wake-up of the listener, so a connection storm cannot starve the pair.
    static let acceptsPerWakeUp = 32
    /// How long accepting pauses when the process is out of descriptors.
    static let acceptPauseOnDescriptorExhaustion = 0.1

    /// A server that will listen as `configuration` says, over TLS when `tls` is given;
    /// nothing happens until `start()`.
    public init(configuration: RelayServerConfiguration, tls: TLSServerContext?, logger: Logger) {
        self.configuration = configuration
        self.tls = tls
        self.logger = logger
        pipes = PipeBudget(limit: configuration.maxPipes)
        pending = PendingAdmission(maxPerAddress: configuration.maxPendingPerAddress,
                                   maxTotal: configuration.maxConnections)
        loop = EventLoop.makeDefault()
    }

    /// Binds and listens, and installs the SIGINT/SIGTERM handlers. Returns the address
    /// actually bound (its port is the free one picked when the configuration says 0).
    public func start() throws(SocketError) -> SocketAddress {
        Syscall.ignoreSIGPIPE()
        ProcessMemory.mapAllocations(atLeast: Self.mappedAllocationSize)
        let (fd, address) = try TCPSocket.listen(host: configuration.host, port: configuration.port)
        listenerFD = fd
        let watcher = IOWatcher(loop: loop, fd: fd, events: .read) { [weak self] _ in self?.acceptConnections() }
        watcher.start()
        acceptWatcher = watcher
        acceptPause = TimerWatcher(loop: loop) { [weak self] in self?.resumeAccepting() }
        Syscall.unblock([SIGINT, SIGTERM])
        for signal in [SIGINT, SIGTERM] {
            let signalWatcher = SignalWatcher(loop: loop, signal: signal) { [weak self] in self?.requestShutdown() }
            signalWatcher.start()
            signalWatchers.append(signalWatcher)
        }
        logger.info(configuration.legacy ? "relay listening (legacy protocol)" : "relay listening", metadata: [
            "transport": "\(tls == nil ? "plain TCP" : tls!.requiresClientCertificates ? "TLS 1.3, client certificates required" : "TLS 1.3")",
            "address": "\(address)", "max-frame": "\(configuration.maxFrame)",
            "queue-limit": "\(configuration.queueLimit)", "handshake-timeout": "\(configuration.handshakeTimeout)",
        ])
        return address
    }

    /// Runs the reactor until shutdown completes.
    public func run() {
        loop.run()
        closeListener()
    }

    /// Starts the shutdown of PROTOCOL.md section 2: ERROR SHUTTING_DOWN to every
    /// connection, at most the grace period of flushing, then `run()` returns.
    public func requestShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        logger.info("shutting down", metadata: ["connections": "\(connections.count)"])
        closeListener()
        for signalWatcher in signalWatchers { signalWatcher.invalidate() }
        for connection in Array(connections.values) {
            leaveRoom(connection)
            connection.close(after: configuration.legacy ? nil : .error(.shuttingDown, "the relay is shutting down"),
                             gracePeriod: configuration.shutdownGracePeriod)
        }
        let timer = TimerWatcher(loop: loop) { [weak self] in self?.finishShutdown() }
        timer.start(after: configuration.shutdownGracePeriod)
        shutdownTimer = timer
        if connections.isEmpty { finishShutdown() }
    }

    private func finishShutdown() {
        for connection in Array(connections.values) { connection.abort() }
        shutdownTimer?.invalidate()
        loop.stop()
    }

    private func closeListener() {
        acceptWatcher?.invalidate()
        acceptWatcher = nil
        acceptPause?.invalidate()
        if listenerFD >= 0 {
            Glibc.close(listenerFD)
            listenerFD = -1
        }
    }

    // MARK: Accepting

    private func acceptConnections() {
        for _ in 0..<Self.acceptsPerWakeUp {
            let fd: Int32
            do {
                guard let accepted = try TCPSocket.accept(listenerFD) else { return }
                fd = accepted
            } catch {
                handleAcceptFailure(error)
                return
            }
            admit(fd)
        }
    }

    private func admit(_ fd: Int32) {
        let id = ConnectionID(nextConnectionID)
        nextConnectionID += 1
        let address = SocketAddress.of(fd, peer: true)
        let remote = address?.description ?? "unknown"
        switch pending.admit(id, from: address?.host ?? "unknown") {
        case .admit:
            break
        case .admitClosing(let older):
            connectionsClosedForNewcomers += 1
            if connectionsClosedForNewcomers == 1 || connectionsClosedForNewcomers % 1000 == 0 {
                logger.warning("connection limit reached; closing the oldest handshakes of the busiest address", metadata: [
                    "max-connections": "\(configuration.maxConnections)", "closed": "\(connectionsClosedForNewcomers)",
                ])
            }
            connections[older]?.abort()
        case .refuseAddressLimit, .refuseTotalLimit:
            Glibc.close(fd)
            connectionsRefusedOverLimit += 1
            if connectionsRefusedOverLimit == 1 || connectionsRefusedOverLimit % 1000 == 0 {
                logger.warning("connection limit reached; closing new connections at once", metadata: [
                    "max-connections": "\(configuration.maxConnections)",
                    "max-pending-per-address": "\(configuration.maxPendingPerAddress)",
                    "refused": "\(connectionsRefusedOverLimit)",
                ])
            }
            return
        }
        let stream: ByteStream
        do {
            stream = try tls?.makeStream(fd: fd) ?? PlainStream(fd: fd)
        } catch {
            logger.error("cannot set up TLS for a connection", metadata: ["remote": "\(remote)", "error": "\(error)"])
            pending.remove(id)
            Glibc.close(fd)
            return
        }
        let connection = Connection(
            id: id, stream: stream, remoteAddress: remote,
            reader: FrameReader(format: configuration.legacy ? .legacy : .framed, maxFrame: configuration.maxFrame,
                                expectsHello: !configuration.legacy),
            handshakeReadSize: configuration.legacy ? LegacyFraming.maximumNameCount + 1 : Self.handshakeReadSize,
            loop: loop, pipes: pipes, readBuffers: readBuffers, queueChunks: queueChunks, delegate: self)
        connections[id] = connection
        logger.debug("connection accepted", metadata: ["connection": "\(id)", "remote": "\(remote)"])
        connection.start(handshakeTimeout: configuration.handshakeTimeout)
    }

    /// Out of descriptors (or kernel memory): accepting again at once would spin, since
    /// the pending connection stays readable. Pause briefly and say so once per episode.
    private func handleAcceptFailure(_ error: SystemCallError) {
        switch error.errno {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            if !isAcceptPausedForDescriptors {
                logger.warning("cannot accept connections, pausing", metadata: [
                    "error": "\(error)", "pause-seconds": "\(Self.acceptPauseOnDescriptorExhaustion)",
                ])
            }
            isAcceptPausedForDescriptors = true
            acceptWatcher?.stop()
            acceptPause?.start(after: Self.acceptPauseOnDescriptorExhaustion)
        default:
            logger.error("accept failed", metadata: ["error": "\(error)"])
        }
    }

    private func resumeAccepting() {
        guard !isShuttingDown else { return }
        acceptWatcher?.start()
        acceptConnections()
        if acceptWatcher?.isActive == true, isAcceptPausedForDescriptors {
            isAcceptPausedForDescriptors = false
            logger.notice("accepting connections again")
        }
    }
}
