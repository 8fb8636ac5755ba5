#if canImport(Glibc)
import Glibc
#endif
import RelayIO
import RelayTLS

/// Opens the client's TCP connection: every address the host name resolves to (IPv6
/// and IPv4, in `getaddrinfo`'s order) is tried in turn until one accepts, all within
/// one deadline.
enum RelayConnector {
    /// A connected, non-blocking socket with `TCP_NODELAY`, made before `deadline`
    /// (``MonotonicClock`` seconds). Each address gets an equal share of the time left,
    /// so one silent address cannot use up the time of the others.
    static func connect(host: String, port: Int, deadline: Double, timeout: Double) throws(RelayClientError) -> Int32 {
        let addresses = try resolve(host: host, port: port)
        return try connect(to: addresses, host: host, port: port, deadline: deadline, timeout: timeout)
    }

    /// One address `getaddrinfo` gave, copied out of its list.
    struct Address {
        let family: Int32
        let socketType: Int32
        let socketProtocol: Int32
        let storage: [UInt8]
        let label: String
    }

    /// Every TCP address of `host` (a name or a numeric address), in `getaddrinfo`'s order.
    static func resolve(host: String, port: Int) throws(RelayClientError) -> [Address] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, result != nil else {
            throw .socket(.resolution(host: host, reason: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(result) }
        var addresses: [Address] = []
        var cursor = result
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            guard let address = entry.pointee.ai_addr else { continue }
            addresses.append(Address(
                family: entry.pointee.ai_family, socketType: entry.pointee.ai_socktype,
                socketProtocol: entry.pointee.ai_protocol,
                storage: Array(UnsafeRawBufferPointer(start: address, count: Int(entry.pointee.ai_addrlen))),
                label: describe(entry, port: port)))
        }
        return addresses
    }

    /// Tries `addresses` in order until one accepts.
    static func connect(to addresses: [Address], host: String, port: Int, deadline: Double,
                        timeout: Double) throws(RelayClientError) -> Int32 {
        var failures: [String] = []
        for (index, address) in addresses.enumerated() {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else { break }
            let share = MonotonicClock.now() + remaining / Double(addresses.count - index)
            let fd = socket(address.family, address.socketType | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                            address.socketProtocol)
            guard fd >= 0 else {
                failures.append("\(address.label): \(SystemCallError.message(for: errno))")
                continue
            }
            if let failure = attempt(fd, address, until: share) {
                Glibc.close(fd)
                failures.append("\(address.label): \(failure)")
                continue
            }
            Syscall.setNoDelay(fd)
            return fd
        }
        if MonotonicClock.now() >= deadline {
            throw .timeout("cannot connect to \(host):\(port) within \(timeout) seconds (--connect-timeout)"
                + (failures.isEmpty ? "" : ": " + failures.joined(separator: "; ")))
        }
        throw .connect("cannot connect to \(host):\(port): " + failures.joined(separator: "; "))
    }

    /// nil when connected, else why not.
    private static func attempt(_ fd: Int32, _ address: Address, until deadline: Double) -> String? {
        var status: Int32
        repeat {
            status = address.storage.withUnsafeBytes { raw in
                Glibc.connect(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
        } while status != 0 && errno == EINTR
        if status == 0 { return nil }
        guard errno == EINPROGRESS else { return SystemCallError.message(for: errno) }
        while true {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else { return "no answer (timed out)" }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&entry, 1, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if ready < 0, errno == EINTR { continue }
            if ready < 0 { return SystemCallError.message(for: errno) }
            if ready == 0 { continue }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 else { return SystemCallError.message(for: errno) }
            return error == 0 ? nil : SystemCallError.message(for: error)
        }
    }

    private static func describe(_ entry: UnsafeMutablePointer<addrinfo>, port: Int) -> String {
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return "an address"
        }
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return entry.pointee.ai_family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
