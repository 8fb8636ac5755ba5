#if canImport(Glibc)
import Glibc
#endif

/// A small line-oriented record file shared by several clients (`known_servers`,
/// `known_peers`): read whole, and changed only under `flock` on `FILE.lock`, by writing
/// `FILE.tmp` and renaming it over the file, so that a reader sees the old file or the
/// new one, never half of it. Lines may end in LF or CRLF.
public struct RecordFile {
    /// The file.
    public let path: String
    /// What the file holds, for messages ("known_servers").
    public let what: String

    public init(path: String, what: String) {
        self.path = path
        self.what = what
    }

    /// How long a change waits for another client holding the lock.
    static let lockWait = 10.0

    /// The directory the file is in.
    public var directory: String {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        return directory.isEmpty ? "." : directory
    }

    /// The lines, split on LF and CRLF, with their 1-based numbers.
    public static func lines(of bytes: [UInt8]) -> [(number: Int, text: Substring)] {
        let text = String(decoding: bytes, as: UTF8.self)
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated().map { ($0.offset + 1, $0.element) }
    }

    /// Refuses a file, or a directory, that others can write.
    public func checkPermissions() throws(TLSSetupError) {
        try FilePermissions.requireProtectedDirectory(directory, holding: what)
        try FilePermissions.requireNotWritableByOthers(path, what: "\(what) file")
    }

    /// The file's bytes, or nil when there is no file.
    public func contents() throws(TLSSetupError) -> [UInt8]? {
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

    /// Adds `line` as a new last line, creating the file (0600) and its directories
    /// (0700), under the lock. `decide` sees the current contents first (another client
    /// may have changed them meanwhile): it returns false to leave the file as it is,
    /// or throws to refuse.
    public func append(line: String, unless decide: ([UInt8]) throws(TLSSetupError) -> Bool) throws(TLSSetupError) {
        try makeDirectories()
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
        guard try decide(bytes) else { return }
        if let last = bytes.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        bytes.append(contentsOf: "\(line)\n".utf8)
        try replace(with: bytes)
    }

    private func makeDirectories() throws(TLSSetupError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        guard !directory.isEmpty else { return }
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw TLSSetupError("cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
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
}
