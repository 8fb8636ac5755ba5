import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// How a connection of a pair opens on a path, before its first message.
enum PairsHandshake: Sendable {
    /// relay-server: a version 2 HELLO naming the pair's own 16-byte room ("a" or "b");
    /// ready after WELCOME v2 and, for whichever joined first (WELCOME lists no peer),
    /// PEER_JOINED.
    case relayRoom
    /// magic-wormhole's transit relay: `please relay TOKEN for side SIDE\n`, ready after `ok\n`.
    case transit
    /// direct TCP and socat: side a writes its pair's index (4 bytes) and is ready; the
    /// harness's own listener accepts side b, which is ready once it has read the index.
    case identify
}

/// N pairs of peers driven by one thread with one epoll set: non-blocking sockets,
/// level-triggered, every quiet pair with one 64-byte DATA frame in flight
/// (a → path → b, b echoes it, a times the round trip and sends the next one). Optional
/// streaming pairs write 1 MiB DATA frames a → b as fast as the path takes them; b
/// reads and discards. The same bytes cross every path (relay, transit, socat, direct).
final class PairsClient {
    struct Connection {
        var fd: Int32 = -1
        var pair: Int32 = -1
        var isA = false
        var connecting = false
        var ready = false
        /// Handshake bytes received and not yet parsed.
        var inbox: [UInt8] = []
        var welcomed = false
        var expectPeerJoined = false
        var peerJoined = false
        /// Bytes of the current message received (quiet pairs).
        var have = 0
        var pendingOut: [UInt8] = []
        var wantsWrite = false
    }

    struct Pair {
        var a = -1
        var b = -1
        var streaming = false
        var sentAt = 0.0
        var roundsInWindow = 0
        var roundsTotal = 0
        var room: [UInt8] = []
        var token = ""
    }

    let port: Int
    let handshake: PairsHandshake
    let message: [UInt8]
    let streamFrame: [UInt8]
    private let epoll: Int32
    private var listener: Int32 = -1
    private(set) var connections: [Connection] = []
    private(set) var pairs: [Pair] = []
    private var readyCount = 0
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)
    private let events = Epoll.Events(capacity: 1024)
    private(set) var failure: String?

    // Ping-pong state.
    private var running = false
    private var once = false
    private var onceDone = 0
    private var measureFrom = 0.0
    private var stopAt = 0.0
    private(set) var samples: [Float] = []
    private(set) var streamedBytes = 0
    private var streamOffset: [Int: Int] = [:]

    private static let listenerTag = UInt64.max
    static let sourceAddresses = 16
    /// BENCH_PAIRS_TRACE=1: each set-up batch's duration on standard error.
    private static let trace = getenv("BENCH_PAIRS_TRACE") != nil

    /// `acceptOn`: for `.identify`, the harness's listening socket where side b arrives.
    init(port: Int, handshake: PairsHandshake, acceptOn: Int32? = nil, bodyBytes: Int = 64, streamBodyBytes: Int = 1 << 20) throws {
        self.port = port
        self.handshake = handshake
        message = DataFrames.frame(bodyCount: bodyBytes)
        streamFrame = DataFrames.frame(bodyCount: streamBodyBytes, fill: 0x5A)
        epoll = Epoll.create()
        guard epoll >= 0 else { throw BenchError("epoll_create1: errno \(errno)") }
        if let acceptOn {
            listener = acceptOn
            _ = fcntl(acceptOn, F_SETFL, fcntl(acceptOn, F_GETFL) | O_NONBLOCK)
            guard Epoll.control(epoll, Epoll.add, acceptOn, events: Epoll.input, data: Self.listenerTag) == 0 else { throw BenchError("epoll_ctl listener: errno \(errno)") }
        }
    }

    deinit {
        closeAll()
        Glibc.close(epoll)
    }

    var pairCount: Int { pairs.count }

    /// Closes every connection of every pair (the pairs stay counted).
    func closeAll() {
        for index in connections.indices where connections[index].fd >= 0 {
            Glibc.close(connections[index].fd)
            connections[index].fd = -1
        }
    }

    /// Forgets every pair and connection (after `closeAll`), for the next round of set-ups.
    func reset() {
        closeAll()
        connections.removeAll(keepingCapacity: true)
        pairs.removeAll(keepingCapacity: true)
        readyCount = 0
        streamOffset.removeAll()
    }

    // MARK: Set-up

    /// Opens `count` more pairs (`streaming` ones stream instead of ping-ponging), `batch`
    /// pairs at a time, each batch complete (every connection ready) before the next.
    func open(count: Int, streaming: Bool = false, batch: Int, within seconds: Double = 60) throws {
        var remaining = count
        while remaining > 0 {
            let now = min(batch, remaining)
            let first = pairs.count
            for _ in 0..<now { try startPair(streaming: streaming) }
            let expected = 2 * pairs.count
            let batchStart = Clock.now()
            let deadline = batchStart + seconds
            try pump { [unowned self] in self.readyCount >= expected || Clock.now() > deadline }
            if Self.trace {
                Runner.say("    batch \(first)..<\(pairs.count): \(Int((Clock.now() - batchStart) * 1e6)) µs")
            }
            if readyCount < expected {
                throw BenchError("set-up stalled: \(expected - readyCount) connections of pairs \(first)..<\(pairs.count) not ready after \(Int(seconds)) s")
            }
            remaining -= now
        }
    }

    private func startPair(streaming: Bool) throws {
        var pair = Pair()
        pair.streaming = streaming
        switch handshake {
        case .relayRoom: pair.room = (0..<16).map { _ in UInt8.random(in: 0...255) }
        case .transit: pair.token = Self.hex((0..<32).map { _ in UInt8.random(in: 0...255) })
        case .identify: break
        }
        let index = pairs.count
        pairs.append(pair)
        pairs[index].a = try connect(pair: index, isA: true)
        if handshake != .identify {
            pairs[index].b = try connect(pair: index, isA: false)
        }
    }

    private func connect(pair: Int, isA: Bool) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno))) (after \(connections.count) connections)") }
        Self.noDelay(fd)
        // Source addresses 127.0.0.2 … 127.0.0.17 in turn, the port chosen at connect
        // (IP_BIND_ADDRESS_NO_PORT): from one address, 20,000 connections to one port
        // leave connect() searching a nearly full ephemeral range (seconds per batch).
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_IP), 24 /* IP_BIND_ADDRESS_NO_PORT */, &on, socklen_t(MemoryLayout<Int32>.size))
        var source = PeerSocket.loopback(port: 0)
        source.sin_addr.s_addr = (UInt32(0x7F00_0002) + UInt32(connections.count % Self.sourceAddresses)).bigEndian
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            Glibc.close(fd)
            throw BenchError("bind 127.0.0.x: \(String(cString: strerror(error)))")
        }
        var address = PeerSocket.loopback(port: port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let error = errno
        guard status == 0 || error == EINPROGRESS else {
            Glibc.close(fd)
            throw BenchError("connect: \(String(cString: strerror(error))) (after \(connections.count) connections)")
        }
        var connection = Connection()
        connection.fd = fd
        connection.pair = Int32(pair)
        connection.isA = isA
        connection.connecting = status != 0
        let index = connections.count
        connections.append(connection)
        try add(index, events: status == 0 ? Epoll.input : Epoll.input | Epoll.output)
        if status == 0 { connected(index) }
        return index
    }

    private func add(_ index: Int, events: UInt32) throws {
        guard Epoll.control(epoll, Epoll.add, connections[index].fd, events: events, data: UInt64(index)) == 0 else {
            throw BenchError("epoll_ctl add: errno \(errno)")
        }
    }

    private func watch(_ index: Int, write: Bool) {
        guard connections[index].wantsWrite != write, connections[index].fd >= 0 else { return }
        connections[index].wantsWrite = write
        _ = Epoll.control(epoll, Epoll.modify, connections[index].fd, events: Epoll.input | (write ? Epoll.output : 0), data: UInt64(index))
    }

    /// The TCP connection is up: send the path's opening.
    private func connected(_ index: Int) {
        connections[index].connecting = false
        let pair = pairs[Int(connections[index].pair)]
        let isA = connections[index].isA
        switch handshake {
        case .relayRoom:
            let name: [UInt8] = isA ? [UInt8(ascii: "a")] : [UInt8(ascii: "b")]
            send(index, Frame.helloRoom(name: name, room: pair.room).encoded())
        case .transit:
            // 16 hex digits, different for the two sides.
            let side = (isA ? "a" : "b") + String(Self.hex((0..<8).map { _ in UInt8.random(in: 0...255) }).dropFirst())
            send(index, Array("please relay \(pair.token) for side \(side)\n".utf8))
        case .identify:
            let id = UInt32(connections[index].pair)
            send(index, [UInt8(id >> 24 & 0xFF), UInt8(id >> 16 & 0xFF), UInt8(id >> 8 & 0xFF), UInt8(id & 0xFF)])
            markReady(index) // side b, accepted by the listener, counts itself once identified
        }
    }

    private func markReady(_ index: Int) {
        connections[index].ready = true
        readyCount += 1
    }

    // MARK: Ping-pong

    /// Every quiet pair ping-pongs (and every streaming pair streams) until
    /// `warmup + seconds` from now; round trips and streamed bytes count from `warmup` on.
    /// `atWindowStart` and `atWindowEnd` run at those moments (forwarder CPU snapshots).
    func pingPong(warmup: Double, seconds: Double, atWindowStart: () -> Void, atWindowEnd: () -> Void) throws {
        let start = Clock.now()
        measureFrom = start + warmup
        stopAt = measureFrom + seconds
        samples.removeAll(keepingCapacity: true)
        samples.reserveCapacity(1 << 16)
        running = true
        once = false
        kickOff()
        var started = false
        var streamedAtStart = 0
        try pump { [unowned self] in
            let now = Clock.now()
            if !started, now >= measureFrom {
                started = true
                streamedAtStart = streamedBytes
                atWindowStart()
            }
            return now >= stopAt
        }
        atWindowEnd()
        running = false
        streamedBytes -= streamedAtStart
        for index in pairs.indices where pairs[index].streaming { watch(pairs[index].a, write: false) }
    }

    /// One message each way per quiet pair (a → b → a), then returns.
    func oneRoundTripEach(within seconds: Double = 30) throws {
        running = true
        once = true
        onceDone = 0
        measureFrom = .infinity
        kickOff()
        let quiet = pairs.filter { !$0.streaming }.count
        let deadline = Clock.now() + seconds
        try pump { [unowned self] in self.onceDone >= quiet || Clock.now() > deadline }
        running = false
        if onceDone < quiet { throw BenchError("\(quiet - onceDone) pairs' round trips did not come back within \(Int(seconds)) s") }
    }

    private func kickOff() {
        let now = Clock.now()
        for index in pairs.indices {
            if pairs[index].streaming {
                watch(pairs[index].a, write: true)
            } else {
                pairs[index].sentAt = now
                pairs[index].roundsInWindow = 0
                send(pairs[index].a, message)
            }
        }
    }

    /// Pairs that completed no round trip in the measured window.
    var starvedPairs: Int { pairs.filter { !$0.streaming && $0.roundsInWindow == 0 }.count }

    var roundTripsInWindow: Int { pairs.reduce(0) { $0 + $1.roundsInWindow } }

    // MARK: The loop

    private func pump(until done: () -> Bool) throws {
        while failure == nil, !done() {
            let count = events.wait(epoll, timeoutMilliseconds: 5)
            if count < 0 {
                if errno == EINTR { continue }
                throw BenchError("epoll_wait: errno \(errno)")
            }
            for slot in 0..<Int(count) {
                let tag = events.data(slot)
                let flags = events.events(slot)
                if tag == Self.listenerTag {
                    acceptAll()
                } else {
                    handle(Int(tag), flags)
                }
                if failure != nil { break }
            }
        }
        if let failure { throw BenchError(failure) }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            if fd < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED {
                    failure = "accept: \(String(cString: strerror(errno)))"
                }
                return
            }
            Self.noDelay(fd)
            var connection = Connection()
            connection.fd = fd
            connections.append(connection)
            do { try add(connections.count - 1, events: Epoll.input) } catch { failure = "\(error)" }
        }
    }

    private func handle(_ index: Int, _ flags: UInt32) {
        guard connections[index].fd >= 0 else { return }
        if connections[index].connecting {
            guard flags & (Epoll.output | Epoll.error | Epoll.hangUp) != 0 else { return }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(connections[index].fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                failure = "connect to 127.0.0.1:\(port): \(String(cString: strerror(error))) (pair \(connections[index].pair))"
                return
            }
            connections[index].wantsWrite = true
            watch(index, write: false)
            connected(index)
            return
        }
        if flags & (Epoll.input | Epoll.hangUp | Epoll.error) != 0 { readSome(index) }
        if flags & Epoll.output != 0, connections[index].fd >= 0 { writable(index) }
    }

    private func readSome(_ index: Int) {
        let fd = connections[index].fd
        let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            failure = "recv (pair \(connections[index].pair)): \(String(cString: strerror(errno)))"
            return
        }
        if count == 0 {
            let what = connections[index].ready ? "during the run" : "during the handshake"
            failure = "the path closed a connection \(what) (pair \(connections[index].pair), side \(connections[index].isA ? "a" : "b"))"
            return
        }
        if !connections[index].ready {
            connections[index].inbox.append(contentsOf: scratch[0..<count])
            handshakeBytes(index)
            return
        }
        let pairIndex = Int(connections[index].pair)
        if pairs[pairIndex].streaming {
            if !connections[index].isA { streamedBytes += count }
            return
        }
        connections[index].have += count
        while connections[index].have >= message.count {
            connections[index].have -= message.count
            if connections[index].isA { roundTripDone(pairIndex) } else { send(index, message) }
        }
    }

    private func roundTripDone(_ pairIndex: Int) {
        let now = Clock.now()
        pairs[pairIndex].roundsTotal += 1
        if now >= measureFrom && now < stopAt {
            samples.append(Float((now - pairs[pairIndex].sentAt) * 1e6))
            pairs[pairIndex].roundsInWindow += 1
        }
        if once {
            onceDone += 1
            return
        }
        guard running, now < stopAt else { return }
        pairs[pairIndex].sentAt = now
        send(pairs[pairIndex].a, message)
    }

    private func handshakeBytes(_ index: Int) {
        switch handshake {
        case .identify:
            // An accepted side b: the 4-byte pair index.
            guard connections[index].inbox.count >= 4 else { return }
            let bytes = connections[index].inbox
            let id = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            guard id < pairs.count, pairs[id].b < 0, bytes.count == 4 else {
                failure = "an accepted connection named pair \(id) (of \(pairs.count)) or sent more than its index"
                return
            }
            pairs[id].b = index
            connections[index].pair = Int32(id)
            connections[index].inbox = []
            connections[index].ready = true
            readyCount += 1
        case .transit:
            let inbox = connections[index].inbox
            guard inbox.count >= 3 else { return }
            guard inbox == Array("ok\n".utf8) else {
                failure = "transit relay answered \(String(decoding: inbox, as: UTF8.self).debugDescription) (pair \(connections[index].pair))"
                return
            }
            connections[index].inbox = []
            markReady(index)
        case .relayRoom:
            while true {
                let inbox = connections[index].inbox
                guard inbox.count >= 5 else { return }
                let length = Int(inbox[0]) << 24 | Int(inbox[1]) << 16 | Int(inbox[2]) << 8 | Int(inbox[3])
                guard inbox.count >= 4 + length else { return }
                let type = inbox[4]
                let body = Array(inbox[5..<(4 + length)])
                connections[index].inbox.removeFirst(4 + length)
                switch type {
                case FrameType.welcome.rawValue where body.count >= 38:
                    connections[index].welcomed = true
                    connections[index].expectPeerJoined = body[37] == 0
                case FrameType.peerJoined.rawValue:
                    connections[index].peerJoined = true
                case FrameType.error.rawValue where body.count >= 2:
                    let code = Int(body[0]) << 8 | Int(body[1])
                    failure = "relay sent ERROR \(code) \(String(decoding: body[2...], as: UTF8.self).debugDescription) to pair \(connections[index].pair) after \(readyCount) ready connections"
                    return
                default:
                    failure = "relay sent frame type \(type) (\(body.count) B) during the handshake"
                    return
                }
                let c = connections[index]
                if c.welcomed && (!c.expectPeerJoined || c.peerJoined) {
                    markReady(index)
                    guard connections[index].inbox.isEmpty else {
                        failure = "relay sent more than the handshake before any DATA"
                        return
                    }
                    return
                }
            }
        }
    }

    // MARK: Writing

    private func send(_ index: Int, _ bytes: [UInt8]) {
        if !connections[index].pendingOut.isEmpty {
            connections[index].pendingOut.append(contentsOf: bytes)
            return
        }
        let fd = connections[index].fd
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written == bytes.count { return }
        if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            failure = "send (pair \(connections[index].pair)): \(String(cString: strerror(errno)))"
            return
        }
        connections[index].pendingOut = Array(bytes[max(0, written)...])
        watch(index, write: true)
    }

    private func writable(_ index: Int) {
        let fd = connections[index].fd
        if !connections[index].pendingOut.isEmpty {
            let written = connections[index].pendingOut.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    failure = "send (pair \(connections[index].pair)): \(String(cString: strerror(errno)))"
                }
                return
            }
            connections[index].pendingOut.removeFirst(written)
            if !connections[index].pendingOut.isEmpty { return }
        }
        let pairIndex = Int(connections[index].pair)
        guard pairIndex >= 0, pairs[pairIndex].streaming, connections[index].isA, running else {
            watch(index, write: false)
            return
        }
        // A streaming side a: the next piece of the endless run of 1 MiB frames (one
        // send per wake-up, at most 256 KiB, so the harness serves its quiet pairs too).
        let offset = streamOffset[index, default: 0]
        let piece = min(streamFrame.count - offset, 1 << 18)
        let written = streamFrame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, piece, Int32(MSG_NOSIGNAL)) }
        if written < 0 {
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                failure = "send (streaming pair \(pairIndex)): \(String(cString: strerror(errno)))"
            }
            return
        }
        streamOffset[index] = (offset + written) % streamFrame.count
    }

    // MARK: Helpers

    static func noDelay(_ fd: Int32) {
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
