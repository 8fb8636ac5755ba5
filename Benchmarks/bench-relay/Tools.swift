#if canImport(Glibc)
import Glibc
#endif

/// Where the programs the harness runs are found.
enum Tools {
    /// The directory of this executable (`/proc/self/exe`): the build directory, where
    /// `swift run -c release bench-relay` also put `relay-server`.
    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }

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
    static func onPath(_ name: String) -> String? {
        guard let path = getenv("PATH") else { return nil }
        for directory in String(cString: path).split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
