#if canImport(Glibc)
import Glibc
#endif

/// The trust-on-first-use record, like SSH's `known_hosts`: one `HOST:PORT sha256:HEX`
/// a line (blank lines and `#` comments are kept as they are).
public struct KnownServers {
    /// The file.
    public let path: String

    /// The record kept in the file at `path`.
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
        /// The recorded fingerprint.
        public let fingerprint: KeyFingerprint
        /// Its line number.
        public let line: Int
    }

    /// The fingerprint recorded for `server` (`HOST:PORT`), if any. Lines may end in
    /// LF or CRLF. The file, and its directory, must not be writable by others.
    public func entry(for server: String) throws(TLSSetupError) -> Entry? {
        try checkPermissions()
        guard let bytes = try contents() else { return nil }
        return try Self.entry(for: server, in: bytes, path: path)
    }

    private static func entry(for server: String, in bytes: [UInt8], path: String) throws(TLSSetupError) -> Entry? {
        for (number, line) in RecordFile.lines(of: bytes) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, !fields[0].hasPrefix("#"), fields[0] == server else { continue }
            guard let fingerprint = KeyFingerprint(parsing: String(fields[1])) else {
                throw TLSSetupError("\(path):\(number): '\(fields[1])' is not a sha256:HEX fingerprint")
            }
            return Entry(fingerprint: fingerprint, line: number)
        }
        return nil
    }

    private var file: RecordFile { RecordFile(path: path, what: "known_servers") }

    /// Adds `server fingerprint` as a new last line, creating the file (mode 0600) and
    /// its directory (0700), atomically under a lock (``RecordFile``). If another client
    /// recorded `server` meanwhile, its entry stands: the same fingerprint is accepted,
    /// another one refused.
    public func record(_ fingerprint: KeyFingerprint, for server: String) throws(TLSSetupError) {
        let path = self.path
        try file.append(line: "\(server) \(fingerprint)") { bytes throws(TLSSetupError) in
            guard let entry = try Self.entry(for: server, in: bytes, path: path) else { return true }
            guard entry.fingerprint == fingerprint else {
                throw TLSSetupError("another relay-client recorded \(entry.fingerprint) for \(server) in \(path) "
                    + "(line \(entry.line)) while this one saw \(fingerprint): refusing to connect")
            }
            return false
        }
    }

    private func checkPermissions() throws(TLSSetupError) {
        try file.checkPermissions()
    }

    private func contents() throws(TLSSetupError) -> [UInt8]? {
        try file.contents()
    }
}
