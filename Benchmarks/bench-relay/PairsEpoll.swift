#if canImport(Glibc)
import Glibc
#endif

/// epoll for the many-pairs client. Swift's Glibc module does not include <sys/epoll.h>
/// here (Swift 6.3, Linux), and bench-relay has no C target of its own, so the three
/// calls are looked up with dlsym and called through C function pointers (the C ABI,
/// exactly). `struct epoll_event` is packed on x86_64: events:u32 at 0, data:u64 at 4,
/// 12 bytes; other architectures align data at 8 (16 bytes).
enum Epoll {
    static let input: UInt32 = 0x001
    static let output: UInt32 = 0x004
    static let error: UInt32 = 0x008
    static let hangUp: UInt32 = 0x010
    static let add: Int32 = 1
    static let delete: Int32 = 2
    static let modify: Int32 = 3
    static let closeOnExec: Int32 = 0o2000000

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    private typealias Create1 = @convention(c) (Int32) -> Int32
    private typealias Control = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias Wait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private static func symbol<T>(_ name: String, _ type: T.Type) -> T {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("dlsym \(name) failed") }
        return unsafeBitCast(address, to: type)
    }

    private static let create1Function = symbol("epoll_create1", Create1.self)
    private static let controlFunction = symbol("epoll_ctl", Control.self)
    private static let waitFunction = symbol("epoll_wait", Wait.self)

    static func create() -> Int32 { create1Function(closeOnExec) }

    static func control(_ epoll: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        var raw = [UInt8](repeating: 0, count: 16)
        return raw.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            bytes.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
            return controlFunction(epoll, operation, fd, bytes.baseAddress)
        }
    }

    /// Ready events, as a buffer of `capacity` raw entries.
    final class Events {
        let capacity: Int
        let buffer: UnsafeMutableRawPointer

        init(capacity: Int) {
            self.capacity = capacity
            buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity * Epoll.eventSize, alignment: 16)
        }

        deinit { buffer.deallocate() }

        func wait(_ epoll: Int32, timeoutMilliseconds: Int32) -> Int32 {
            Epoll.waitFunction(epoll, buffer, Int32(capacity), timeoutMilliseconds)
        }

        func events(_ index: Int) -> UInt32 {
            buffer.loadUnaligned(fromByteOffset: index * Epoll.eventSize, as: UInt32.self)
        }

        func data(_ index: Int) -> UInt64 {
            buffer.loadUnaligned(fromByteOffset: index * Epoll.eventSize + Epoll.dataOffset, as: UInt64.self)
        }
    }
}
