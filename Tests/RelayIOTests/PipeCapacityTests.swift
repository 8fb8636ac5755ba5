#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RelayIO

struct PipeCapacityTests {
    /// A fresh pipe (64 KiB on Linux), closed by the caller.
    static func makePipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    @Test func aPipeIsGrownFromEitherEnd() {
        let fds = Self.makePipe()
        defer { close(fds.read); close(fds.write) }
        #expect(PipeCapacity.raise(fds.read, to: 1 << 20) == 1 << 20)
        #expect(PipeCapacity.raise(fds.write, to: 1 << 20) == 1 << 20)
    }

    @Test func aLargerPipeIsNeverShrunk() {
        let fds = Self.makePipe()
        defer { close(fds.read); close(fds.write) }
        #expect(PipeCapacity.raise(fds.write, to: 1 << 20) == 1 << 20)
        #expect(PipeCapacity.raise(fds.write, to: 1 << 16) == 1 << 20)
    }

    @Test func whatIsNotAPipeIsLeftAlone() {
        var sockets: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sockets) == 0)
        defer { close(sockets[0]); close(sockets[1]) }
        #expect(PipeCapacity.raise(sockets[0], to: 1 << 20) == nil)
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        #expect(PipeCapacity.raise(devNull, to: 1 << 20) == nil)
        #expect(PipeCapacity.raise(-1, to: 1 << 20) == nil)
    }
}
