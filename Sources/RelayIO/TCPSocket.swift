import CRelayShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Opening TCP sockets: a listener for the server, a connection for the client.
public enum TCPSocket {
    /// Creates a non-blocking listening socket on `host:port` (`SO_REUSEADDR`); port 0
    /// picks a free port. Returns the descriptor and the address actually bound.
    public static func listen(host: String, port: Int, backlog: Int32 = 511) throws(SocketError) -> (fd: Int32, address: SocketAddress) {
        let address = try SocketAddress.resolve(host: host, port: port)
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .socket(errno: errno) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw .bind(address: address.description, errno: error)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = errno
            close(fd)
            throw .listen(address: address.description, errno: error)
        }
        return (fd, SocketAddress.of(fd, peer: false) ?? address)
    }

    /// Connects to `host:port` (blocking) with `TCP_NODELAY`, then makes the socket
    /// non-blocking unless `nonBlocking` is false (a TLS handshake runs first).
    public static func connect(host: String, port: Int, nonBlocking: Bool = true) throws(SocketError) -> Int32 {
        let address = try SocketAddress.resolve(host: host, port: port)
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(errno: errno) }
        var status: Int32
        repeat {
            status = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        } while status != 0 && errno == EINTR
        guard status == 0 else {
            let error = errno
            close(fd)
            throw .connect(address: "\(host):\(port)", errno: error)
        }
        if nonBlocking {
            do {
                try Syscall.makeNonBlocking(fd)
            } catch {
                close(fd)
                throw .socket(errno: error.errno)
            }
        }
        Syscall.setNoDelay(fd)
        return fd
    }

    /// Accepts one connection from a listener: non-blocking, close-on-exec, `TCP_NODELAY`.
    public static func accept(_ listener: Int32) throws(SystemCallError) -> Int32? {
        while true {
            let fd = CRelayShims_accept4_nonblocking(listener)
            if fd >= 0 {
                Syscall.setNoDelay(fd)
                return fd
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SystemCallError(call: "accept", errno: errno)
            }
        }
    }
}
