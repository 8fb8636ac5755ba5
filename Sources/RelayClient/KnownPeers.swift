import RelayTLS

/// Peers the user verified (PROTOCOL.md section 7.4): `known_peers` beside the
/// known_servers file in use, one `HOST:PORT HEXNAME ed25519:HEXKEY` a line. Lines are
/// added only when the user verifies, atomically under a lock (``RecordFile``).
public struct KnownPeers {
    let file: RecordFile

    /// `known_peers` in the directory of `knownServersPath`.
    public init(besideKnownServers knownServersPath: String) {
        let directory = String(knownServersPath[..<(knownServersPath.lastIndex(of: "/") ?? knownServersPath.startIndex)])
        file = RecordFile(path: (directory.isEmpty ? "." : directory) + "/known_peers", what: "known_peers")
    }

    public var path: String { file.path }

    /// A recorded key and the line it is on.
    public struct Entry: Equatable {
        public let key: [UInt8]
        public let line: Int
    }

    /// The key recorded for `name` at `relay` (`HOST:PORT`), if any.
    public func entry(relay: String, name: [UInt8]) throws(TLSSetupError) -> Entry? {
        try file.checkPermissions()
        guard let bytes = try file.contents() else { return nil }
        return Self.entry(relay: relay, name: name, in: bytes)
    }

    static func entry(relay: String, name: [UInt8], in bytes: [UInt8]) -> Entry? {
        let hexName = hex(name)
        for (number, line) in RecordFile.lines(of: bytes) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#"), fields[0] == relay, fields[1].lowercased() == hexName,
                  fields[2].hasPrefix("ed25519:"), let key = unhex(fields[2].dropFirst(8)), key.count == 32
            else { continue }
            return Entry(key: key, line: number)
        }
        return nil
    }

    /// The line recording `key` for `name` at `relay`.
    static func line(relay: String, name: [UInt8], key: [UInt8]) -> String {
        "\(relay) \(hex(name)) ed25519:\(hex(key))"
    }

    /// Records `key` for `name` at `relay`, unless already there; another key recorded
    /// meanwhile is refused.
    public func record(relay: String, name: [UInt8], key: [UInt8]) throws(TLSSetupError) {
        let path = file.path
        try file.append(line: Self.line(relay: relay, name: name, key: key)) { bytes throws(TLSSetupError) in
            guard let entry = Self.entry(relay: relay, name: name, in: bytes) else { return true }
            guard entry.key == key else {
                throw TLSSetupError("another relay-client recorded another key for this peer in \(path) (line \(entry.line))")
            }
            return false
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func unhex<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let scalars = Array(text.utf8)
        guard scalars.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < scalars.count {
            guard let high = nibble(scalars[index]), let low = nibble(scalars[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
