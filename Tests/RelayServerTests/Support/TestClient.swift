import Foundation
import RelayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The fields of a WELCOME.
struct Welcome: Equatable {
    let sessionKey: [UInt8]
    let maxFrame: UInt32
    let peer: String
}

/// What a test client saw instead of what it waited for.
enum TestClientError: Error, CustomStringConvertible {
    case timedOut(String)
    case closed(String)
    /// The relay reset the connection before a frame began.
    case reset
    case unexpected(String)

    var description: String {
        switch self {
        case .timedOut(let what): "timed out waiting for \(what)"
        case .closed(let what): "connection closed while waiting for \(what)"
        case .reset: "connection reset by the relay"
        case .unexpected(let what): what
        }
    }
}

/// A blocking protocol v1 client over a POSIX socket, for tests: every receive has a
/// timeout (`SO_RCVTIMEO`) and every send one too (`SO_SNDTIMEO`), so no test can hang.
/// One thread may read while another writes.
final class TestClient: @unchecked Sendable {
    let fd: Int32
    private var isClosed = false

    /// Frames larger than this are treated as a broken stream, not allocated.
    static let largestFrameAccepted = 64 << 20

    /// `socketBufferSize` fixes the kernel's send and receive buffers (before connecting,
    /// so the window matches): a test can then tell the relay's buffering from the kernel's.
    /// `from` binds the socket to that loopback address first (127.0.0.2, 127.0.0.3, ...
    /// stand for distinct clients).
    init(port: Int, receiveTimeout: Double = 5, sendTimeout: Double = 20, socketBufferSize: Int32? = nil,
         from localAddress: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        if let localAddress {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(localAddress)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                let error = errno
                Glibc.close(fd)
                throw HarnessError("bind to \(localAddress): \(String(cString: strerror(error)))")
            }
        }
        if var size = socketBufferSize {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else {
            let error = errno
            Glibc.close(fd)
            throw HarnessError("connect to 127.0.0.1:\(port): \(String(cString: strerror(error)))")
        }
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        setTimeout(SO_RCVTIMEO, receiveTimeout)
        setTimeout(SO_SNDTIMEO, sendTimeout)
    }

    deinit { close() }

    /// The local port of this connection.
    var localPort: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO`.
    func setTimeout(_ option: Int32, _ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    /// Closes with a reset (`SO_LINGER` 0): the relay sees ECONNRESET, not end of input.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    /// Ends the sending side (the server reads end of input).
    func shutdownWrite() {
        Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    // MARK: Sending

    /// Writes all of `bytes` (blocking, bounded by the send timeout).
    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let count = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK {
                        throw TestClientError.timedOut("the relay to take \(raw.count - offset) more bytes")
                    }
                    throw TestClientError.closed("sending (\(String(cString: strerror(errno))))")
                }
                offset += count
            }
        }
    }

    func send(_ frame: Frame) throws { try send(frame.encoded()) }

    // MARK: Receiving

    /// Exactly `count` bytes, or nil when the connection ends cleanly before the first.
    private func receive(exactly count: Int, what: @autoclosure () -> String) throws -> [UInt8]? {
        var failure: TestClientError?
        var cleanEnd = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let got = recv(fd, buffer.baseAddress! + initialized, count - initialized, Int32(MSG_WAITALL))
                if got > 0 {
                    initialized += got
                    continue
                }
                let error = got < 0 ? errno : 0
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK {
                    failure = .timedOut(what())
                } else if initialized == 0, error == 0 {
                    cleanEnd = true
                } else if initialized == 0, error == ECONNRESET {
                    failure = .reset
                } else {
                    let reason = error == 0 ? "end of stream" : String(cString: strerror(error))
                    failure = .closed("\(what()) after \(initialized) of \(count) bytes (\(reason))")
                }
                return
            }
        }
        if let failure { throw failure }
        return cleanEnd ? nil : bytes
    }

    /// The next frame's type byte and body, as they came; nil at a clean end of stream.
    func receiveRawFrame() throws -> (type: UInt8, body: [UInt8])? {
        guard let header = try receive(exactly: FrameHeader.byteCount, what: "a frame header") else { return nil }
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length >= 1, length <= Self.largestFrameAccepted else {
            throw TestClientError.unexpected("the relay sent a frame header with length \(length)")
        }
        guard length > 1 else { return (header[4], []) }
        guard let body = try receive(exactly: length - 1, what: "a \(length - 1)-byte body") else {
            throw TestClientError.closed("a \(length - 1)-byte body")
        }
        return (header[4], body)
    }

    /// The next frame, or nil when the relay closed the connection (cleanly, or with a
    /// reset before a frame began).
    func receiveFrameOrEnd() throws -> Frame? {
        let raw: (type: UInt8, body: [UInt8])?
        do {
            raw = try receiveRawFrame()
        } catch TestClientError.reset {
            return nil
        }
        guard let (typeByte, body) = raw else { return nil }
        guard let type = FrameType(rawValue: typeByte) else {
            throw TestClientError.unexpected("the relay sent unknown frame type \(typeByte)")
        }
        // DATA is opaque: no copy through the decoder.
        if type == .data { return .data(body) }
        return try body.withUnsafeBytes { try Frame.decode(type: type, body: $0) }
    }

    /// The next frame; throws if the connection ends first.
    func receiveFrame() throws -> Frame {
        guard let frame = try receiveFrameOrEnd() else { throw TestClientError.closed("a frame") }
        return frame
    }

    /// Waits for the relay to close the connection; throws if a frame arrives first.
    func expectEnd() throws {
        if let frame = try receiveFrameOrEnd() {
            throw TestClientError.unexpected("expected the relay to close the connection, got \(frame.summary)")
        }
    }

    /// Whatever bytes arrive next (at most `limit`), as they come; nil at the end of the
    /// stream or on timeout.
    func receiveBytes(upTo limit: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: limit)
        while true {
            let count = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { return Array(bytes[0..<count]) }
            if count < 0, errno == EINTR { continue }
            return nil
        }
    }

    /// Reads and discards until the relay closes the connection (end of stream or
    /// reset): true, or false when the receive timeout passes first.
    func discardUntilClosed() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { continue }
            if count == 0 { return true }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return false
            default: return true
            }
        }
    }

    // MARK: Protocol steps

    /// Sends HELLO and returns the WELCOME's fields; throws on anything else.
    func join(_ name: String) throws -> Welcome {
        try send(.hello(name: Array(name.utf8)))
        let frame = try receiveFrame()
        guard case .welcome(let key, let maxFrame, let peer) = frame else {
            throw TestClientError.unexpected("expected WELCOME for \(name), got \(frame.summary)")
        }
        return Welcome(sessionKey: key, maxFrame: maxFrame, peer: String(decoding: peer, as: UTF8.self))
    }

    /// Sends a version 2 HELLO for `room` and returns the WELCOME v2's fields.
    func join(_ name: String, room: [UInt8]) throws -> (key: [UInt8], maxFrame: UInt32, roomSize: UInt8, peers: [String]) {
        try send(.helloRoom(name: Array(name.utf8), room: room))
        guard let (type, body) = try receiveRawFrame() else { throw TestClientError.closed("WELCOME v2 for \(name)") }
        guard type == FrameType.welcome.rawValue else {
            throw TestClientError.unexpected("expected WELCOME v2 for \(name), got type \(type): \(String(decoding: body, as: UTF8.self))")
        }
        let frame = try body.withUnsafeBytes { try Frame.decodeWelcomeRoom($0) }
        guard case .welcomeRoom(let key, let maxFrame, let roomSize, let peers) = frame else {
            throw TestClientError.unexpected("not a WELCOME v2")
        }
        return (key, maxFrame, roomSize, peers.map { String(decoding: $0, as: UTF8.self) })
    }

    /// Reads the fatal ERROR the relay must send, then the close. Returns the code and
    /// message (nil code when the frame was something else or the stream just ended).
    func receiveErrorAndEnd() throws -> (code: RelayErrorCode?, message: String, closed: Bool) {
        guard let frame = try receiveFrameOrEnd() else {
            return (nil, "the connection closed without an ERROR", true)
        }
        guard case .error(let code, let message) = frame else {
            return (nil, "got \(frame.summary) instead of ERROR", false)
        }
        let closed: Bool
        do {
            try expectEnd()
            closed = true
        } catch {
            closed = false
        }
        return (RelayErrorCode(rawValue: code), message, closed)
    }

    /// A PING round trip: everything the relay sent this client before the PONG comes
    /// first, so the PONG proves nothing else was pending. Returns the frames before it.
    @discardableResult
    func roundTrip(_ token: [UInt8] = Array("sync".utf8)) throws -> [Frame] {
        try send(.ping(token))
        var before: [Frame] = []
        while true {
            let frame = try receiveFrame()
            if frame == .pong(token) { return before }
            before.append(frame)
        }
    }
}

extension Frame {
    /// The frame in a few words, for failure messages (DATA bodies by size only).
    var summary: String {
        switch self {
        case .data(let body): "DATA(\(body.count) bytes)"
        case .hello(let name): "HELLO(\(String(decoding: name, as: UTF8.self)))"
        case .helloRoom(let name, let room): "HELLO v2(\(String(decoding: name, as: UTF8.self)), room of \(room.count) bytes)"
        case .welcomeRoom(_, let maxFrame, let size, let peers): "WELCOME v2(maxFrame \(maxFrame), room size \(size), \(peers.count) peers)"
        case .dataFrom(let name, let sealed): "DATA_FROM(\(String(decoding: name, as: UTF8.self)), \(sealed.count) bytes)"
        case .welcome(_, let maxFrame, let peer): "WELCOME(maxFrame \(maxFrame), peer '\(String(decoding: peer, as: UTF8.self))')"
        case .peerJoined(let name): "PEER_JOINED(\(String(decoding: name, as: UTF8.self)))"
        case .peerLeft(let name): "PEER_LEFT(\(String(decoding: name, as: UTF8.self)))"
        case .ping(let body): "PING(\(body.count) bytes)"
        case .pong(let body): "PONG(\(body.count) bytes)"
        case .bye: "BYE"
        case .error(let code, let message): "ERROR(\(code), \(message))"
        }
    }
}

/// Runs `body` with a fresh relay server started with `options`, killed afterwards.
func withRelayServer<T>(_ options: [String] = [], _ body: (RelayServerProcess) throws -> T) throws -> T {
    let server = try RelayServerProcess(options)
    defer { server.child.kill() }
    return try body(server)
}
