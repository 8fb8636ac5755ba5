#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process's limit on open descriptors (`RLIMIT_NOFILE`).
public struct DescriptorLimit: Sendable, Equatable {
    /// The soft limit: what the process may open now.
    public var soft: UInt64
    /// The hard limit: how far the soft limit may be raised.
    public var hard: UInt64

    /// The limit in force.
    public static func current() throws(SystemCallError) -> DescriptorLimit {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { throw SystemCallError(call: "getrlimit", errno: errno) }
        return DescriptorLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit (a server that serves many connections
    /// wants every descriptor it may have) and returns the limit then in force.
    public static func raiseToHard() throws(SystemCallError) -> DescriptorLimit {
        let before = try current()
        guard before.soft < before.hard else { return before }
        var limit = rlimit(rlim_cur: rlim_t(before.hard), rlim_max: rlim_t(before.hard))
        guard setrlimit(resource, &limit) == 0 else { throw SystemCallError(call: "setrlimit", errno: errno) }
        return try current()
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
