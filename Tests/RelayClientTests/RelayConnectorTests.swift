#if canImport(Glibc)
import Glibc
#endif
import Testing
import RelayTLS
@testable import RelayClient

/// A listening socket on `host` with an ephemeral port, and a port on 127.0.0.1 that was
/// free a moment ago (bound then closed: nothing listens there).
private func listener(_ host: String, family: Int32) -> (fd: Int32, port: Int)? {
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0, let address = try? RelayConnector.resolve(host: host, port: 0).first else { return nil }
    let bound = address.storage.withUnsafeBytes { raw in
        bind(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
    }
    guard bound == 0, listen(fd, 4) == 0 else {
        close(fd)
        return nil
    }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let named = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else {
        close(fd)
        return nil
    }
    let port = withUnsafeBytes(of: &storage) { raw in
        family == AF_INET6 ? Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            : Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
    }
    return (fd, port)
}

struct RelayConnectorTests {
    @Test func laterAddressesAreTriedWhenTheFirstRefuses() throws {
        // The relay listens on IPv6 only; the first address (IPv4, same port) refuses.
        guard let relay = listener("::1", family: AF_INET6) else { return }  // no IPv6 here
        defer { close(relay.fd) }
        let refusing = try RelayConnector.resolve(host: "127.0.0.1", port: relay.port)
        let listening = try RelayConnector.resolve(host: "::1", port: relay.port)
        let fd = try RelayConnector.connect(to: refusing + listening, host: "relay", port: relay.port,
                                            deadline: MonotonicClock.now() + 5, timeout: 5)
        defer { close(fd) }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        #expect(status == 0)
        #expect(Int32(storage.ss_family) == AF_INET6)
    }

    @Test func everyFailureIsReported() throws {
        guard let relay = listener("127.0.0.1", family: AF_INET) else { Issue.record("no IPv4 listener"); return }
        let port = relay.port
        close(relay.fd)  // nothing listens there now
        let addresses = try RelayConnector.resolve(host: "127.0.0.1", port: port)
        #expect(throws: RelayClientError.self) {
            _ = try RelayConnector.connect(to: addresses + addresses, host: "relay", port: port,
                                           deadline: MonotonicClock.now() + 5, timeout: 5)
        }
        do {
            _ = try RelayConnector.connect(to: addresses + addresses, host: "relay", port: port,
                                           deadline: MonotonicClock.now() + 5, timeout: 5)
        } catch {
            #expect(error.description.split(separator: "refused", omittingEmptySubsequences: false).count == 3, "\(error)")
        }
    }

    @Test func theDeadlineCoversEveryAddress() throws {
        let addresses = try RelayConnector.resolve(host: "127.0.0.1", port: 9)
        let started = MonotonicClock.now()
        do {
            _ = try RelayConnector.connect(to: addresses, host: "relay", port: 9, deadline: started - 1, timeout: 1)
            Issue.record("connected after the deadline")
        } catch {
            guard case .timeout = error else { Issue.record("expected a timeout, got \(error)"); return }
        }
    }
}
