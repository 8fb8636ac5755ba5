#if canImport(Glibc)
import Glibc
#endif

/// Ports on 127.0.0.1 for the peer tools, and waiting for their sockets without touching
/// them (a probe connection would be a client to socat and ncat).
enum Loopback {
    /// A port that was free a moment ago (bound to port 0, then closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw BenchError("cannot bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The TCP states of /proc/net/tcp that the benchmark waits for.
    enum State: String {
        case listening = "0A"
        case established = "01"
    }

    /// Waits until a socket with local port `port` is in `state` (at least `count` of them),
    /// or `child` exits, or `seconds` pass.
    static func wait(for state: State, port: Int, count: Int = 1, child: Child, within seconds: Double) throws {
        let local = ":" + hex4(port) + " "
        let deadline = MonotonicClock.now() + seconds
        while MonotonicClock.now() < deadline {
            let matching = (LineFile.lines("/proc/net/tcp") ?? []).filter { line in
                let fields = line.split(separator: " ")
                return fields.count > 3 && (fields[1] + " ").hasSuffix(local) && fields[3] == state.rawValue
            }
            if matching.count >= count { return }
            guard child.isRunning else {
                throw BenchError("\(child.label) exited before port \(port) was \(state); stderr: \(child.stderrTail())")
            }
            usleep(5_000)
        }
        throw BenchError("\(child.label): port \(port) not \(state) within \(Int(seconds)) s")
    }

    private static func hex4(_ value: Int) -> String {
        let digits = Array("0123456789ABCDEF")
        return String((0..<4).map { digits[(value >> (12 - 4 * $0)) & 15] })
    }
}
