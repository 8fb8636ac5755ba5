#if canImport(Glibc)
import Glibc
#endif

/// What went wrong on the harness's side of a measurement.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking TCP socket on 127.0.0.1 for the harness's peers: `TCP_NODELAY`, and a
/// receive timeout so that a measurement that stalls fails instead of hanging.
struct PeerSocket: Sendable {
    let fd: Int32
    /// The TLS session over `fd` on the TLS path (TLSPeer.swift); nil: plain TCP.
    var tls: TLSPeerSession?

    /// Seconds a blocking read may wait before the measurement is declared stuck.
    static let readTimeout = 30

    /// Connects to 127.0.0.1:`port`.
    static func connect(port: Int) throws -> PeerSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var address = loopback(port: port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else {
            let error = errno
            Glibc.close(fd)
            throw BenchError("connect to 127.0.0.1:\(port): \(String(cString: strerror(error)))")
        }
        return PeerSocket(configuring: fd)
    }

    /// Connects, retrying while nothing listens yet (a forwarder still starting).
    static func connect(port: Int, retryingFor seconds: Double) throws -> PeerSocket {
        let deadline = Clock.now() + seconds
        while true {
            do {
                return try connect(port: port)
            } catch {
                if Clock.now() > deadline { throw error }
                usleep(5_000)
            }
        }
    }

    private init(configuring fd: Int32) {
        self.fd = fd
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: PeerSocket.readTimeout, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    fileprivate static func adopt(_ fd: Int32) -> PeerSocket { PeerSocket(configuring: fd) }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// Writes every byte.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        if let tls { return try tls.writeAll(bytes) }
        var offset = 0
        while offset < bytes.count {
            let written = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written < 0 {
                if errno == EINTR { continue }
                throw BenchError("send: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (raw) throws in try writeAll(raw) }
    }

    /// Reads what is there (at least one byte); throws at end of stream or timeout.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let tls { return try tls.readSome(into: buffer) }
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return count }
            if count == 0 { throw BenchError("the connection closed early") }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw BenchError("no data for \(PeerSocket.readTimeout) s: the path is stuck")
            }
            throw BenchError("recv: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads exactly `buffer.count` bytes.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            offset += try readSome(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
        }
    }

    /// Ends both directions without closing the descriptor (unblocks a stuck peer).
    func shutdownBoth() {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    func close() {
        _ = Glibc.close(fd)
    }
}

/// A listening socket on 127.0.0.1 (port 0: a free one), for the direct path and for
/// the far side of socat.
struct PeerListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var address = PeerSocket.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 4) == 0 else {
            Glibc.close(fd)
            throw BenchError("cannot listen on 127.0.0.1: errno \(errno)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    /// A port that was free a moment ago (for a forwarder that cannot report its own).
    static func freePort() throws -> Int {
        let listener = try PeerListener()
        listener.close()
        return listener.port
    }

    /// Accepts one connection, waiting at most `seconds`.
    func accept(within seconds: Double) throws -> PeerSocket {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else {
            throw BenchError("no connection arrived within \(seconds) s")
        }
        let accepted = Glibc.accept(fd, nil, nil)
        guard accepted >= 0 else { throw BenchError("accept: errno \(errno)") }
        return PeerSocket.adopt(accepted)
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
