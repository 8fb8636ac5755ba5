#if canImport(Glibc)
import Glibc
#endif

/// The trust-on-first-use record, like SSH's `known_hosts`: one `HOST:PORT sha256:HEX`
/// a line (blank lines and `#` comments are kept as they are).
public struct KnownServers {
    /// The file.
    public let path: String

    public init(path: String) { self.path = path }

    /// `$XDG_CONFIG_HOME/relay/known_servers`, else `~/.config/relay/known_servers`.
    public static func defaultPath() -> String {
        if let config = getenv("XDG_CONFIG_HOME").map({ String(cString: $0) }), !config.isEmpty {
            return config + "/relay/known_servers"
        }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.config/relay/known_servers"
    }

    /// A recorded fingerprint and the 1-based line it is on.
    public struct Entry: Equatable {
        public let fingerprint: KeyFingerprint
        public let line: Int
    }

    /// The fingerprint recorded for `server` (`HOST:PORT`), if any.
    public func entry(for server: String) throws(TLSSetupError) -> Entry? {
        guard let text = try contents() else { return nil }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, !fields[0].hasPrefix("#"), fields[0] == server else { continue }
            guard let fingerprint = KeyFingerprint(parsing: String(fields[1])) else {
                throw TLSSetupError("\(path):\(index + 1): '\(fields[1])' is not a sha256:HEX fingerprint")
            }
            return Entry(fingerprint: fingerprint, line: index + 1)
        }
        return nil
    }

    /// Appends `server fingerprint`, creating the file (mode 0600) and its directory.
    public func record(_ fingerprint: KeyFingerprint, for server: String) throws(TLSSetupError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty {
            var prefix = directory.hasPrefix("/") ? "" : "."
            for component in directory.split(separator: "/") {
                prefix += "/" + component
                if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                    throw TLSSetupError("cannot create \(prefix): \(String(cString: strerror(errno)))")
                }
            }
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TLSSetupError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let line = Array("\(server) \(fingerprint)\n".utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw TLSSetupError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func contents() throws(TLSSetupError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw TLSSetupError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
