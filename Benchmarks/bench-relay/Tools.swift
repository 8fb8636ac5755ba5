#if canImport(Glibc)
import Glibc
#endif
import BenchmarkSupport

/// Where the programs the harness runs are found.
enum Tools {
    /// The directory of this executable: the build directory, where
    /// `swift run -c release bench-relay` also put `relay-server`.
    static func executableDirectory() -> String { ExecutableLookup.executableDirectory() }

    /// relay-server beside this executable.
    static func relayServer() -> String? {
        let path = executableDirectory() + "/relay-server"
        return access(path, X_OK) == 0 ? path : nil
    }

    /// The Python baseline relay, found from this source file's place in the repository.
    static func pythonRelayScript() -> String? {
        let path = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
            .dropLast(2).joined(separator: "/") + "/python-relay/relay.py"
        return access(path, R_OK) == 0 ? path : nil
    }

    /// `name` on the PATH, if it is there.
    static func onPath(_ name: String) -> String? { ExecutableLookup.onPath(name) }
}
