#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPv4 or IPv6 address and port, resolved from text without DNS look-ups beyond
/// what `getaddrinfo` does for a host name.
public struct SocketAddress: Sendable, CustomStringConvertible {
    fileprivate var storage = sockaddr_storage()
    /// The length of the address in `storage`.
    public private(set) var length: socklen_t = 0

    /// Resolves `host` (a name or numeric address) and `port` for a TCP socket; the
    /// first address found is used.
    public static func resolve(host: String, port: Int) throws(SocketError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw .resolution(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        var address = SocketAddress()
        withUnsafeMutableBytes(of: &address.storage) { storage in
            storage.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        address.length = first.pointee.ai_addrlen
        return address
    }

    /// The address a socket is bound to (`getsockname`) or connected to (`getpeername`).
    public static func of(_ fd: Int32, peer: Bool) -> SocketAddress? {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &address.storage) { storage in
            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                peer ? getpeername(fd, pointer, &address.length) : getsockname(fd, pointer, &address.length)
            }
        }
        return status == 0 ? address : nil
    }

    /// The address family (`AF_INET` or `AF_INET6`).
    public var family: Int32 { Int32(storage.ss_family) }

    /// The port number.
    public var port: Int {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            switch family {
            case AF_INET: Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            case AF_INET6: Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            default: 0
            }
        }
    }

    /// The numeric host, e.g. `127.0.0.1` or `::1`.
    public var host: String {
        var copy = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafeMutableBytes(of: &copy) { raw in
            switch family {
            case AF_INET:
                var address = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            case AF_INET6:
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            default:
                break
            }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `HOST:PORT`, with brackets around an IPv6 host.
    public var description: String {
        family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Calls `body` with the address as a `sockaddr` pointer.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// Failures setting up sockets, each with what a person needs to act on it.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    case resolution(host: String, reason: String)
    case bind(address: String, errno: Int32)
    case listen(address: String, errno: Int32)
    case connect(address: String, errno: Int32)
    case socket(errno: Int32)

    public var description: String {
        switch self {
        case .resolution(let host, let reason): "cannot resolve \(host): \(reason)"
        case .bind(let address, let errno): "cannot listen on \(address): \(SystemCallError.message(for: errno))"
        case .listen(let address, let errno): "cannot listen on \(address): \(SystemCallError.message(for: errno))"
        case .connect(let address, let errno): "cannot connect to \(address): \(SystemCallError.message(for: errno))"
        case .socket(let errno): "cannot create a socket: \(SystemCallError.message(for: errno))"
        }
    }
}
