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
        let text = String(decoding: bytes, as: UTF8.self)
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, !fields[0].hasPrefix("#"), fields[0] == server else { continue }
            guard let fingerprint = KeyFingerprint(parsing: String(fields[1])) else {
                throw TLSSetupError("\(path):\(index + 1): '\(fields[1])' is not a sha256:HEX fingerprint")
            }
            return Entry(fingerprint: fingerprint, line: index + 1)
        }
        return nil
    }

    /// How long `record` waits for another client holding the lock.
    static let lockWait = 10.0

    /// Adds `server fingerprint` as a new last line, creating the file (mode 0600) and
    /// its directory (0700). Other clients are kept out by `flock` on `FILE.lock`; the
    /// new contents are written to `FILE.tmp` and renamed over the file, so a reader
    /// sees the old file or the new one, never half of it. A last line without its
    /// newline gets one first. If another client recorded `server` meanwhile, its entry
    /// stands: the same fingerprint is accepted, another one refused.
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
        try checkPermissions()
        let lockPath = path + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw TLSSetupError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }  // closing releases the lock
        let giveUp = MonotonicClock.now() + Self.lockWait
        while flock(lock, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw TLSSetupError("cannot lock \(lockPath): \(String(cString: strerror(errno)))")
            }
            guard MonotonicClock.now() < giveUp else {
                throw TLSSetupError("\(lockPath) stayed locked by another relay-client for \(Self.lockWait) seconds")
            }
            usleep(20_000)
        }
        var bytes = try contents() ?? []
        if let entry = try Self.entry(for: server, in: bytes, path: path) {
            guard entry.fingerprint == fingerprint else {
                throw TLSSetupError("another relay-client recorded \(entry.fingerprint) for \(server) in \(path) "
                    + "(line \(entry.line)) while this one saw \(fingerprint): refusing to connect")
            }
            return
        }
        if let last = bytes.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        bytes.append(contentsOf: "\(server) \(fingerprint)\n".utf8)
        try replace(with: bytes)
    }

    private func replace(with bytes: [UInt8]) throws(TLSSetupError) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TLSSetupError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        let synced = fsync(fd) == 0
        let closed = close(fd) == 0
        guard written == bytes.count, synced, closed, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TLSSetupError("cannot write \(path): \(reason)")
        }
    }

    private func checkPermissions() throws(TLSSetupError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try FilePermissions.requireProtectedDirectory(directory.isEmpty ? "." : directory, holding: "known_servers")
        try FilePermissions.requireNotWritableByOthers(path, what: "known_servers file")
    }

    private func contents() throws(TLSSetupError) -> [UInt8]? {
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
            if count < 0 { throw TLSSetupError("cannot read \(path): \(String(cString: strerror(errno)))") }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}
