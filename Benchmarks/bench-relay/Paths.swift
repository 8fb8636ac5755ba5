import RelayProtocol

/// The ways from peer A to peer B that the harness compares.
enum PathKind: String, CaseIterable, Codable, CodingKeyRepresentable, Sendable {
    /// Through a relay-server process (`--insecure-plaintext`), after the v1 handshake.
    case relay
    /// Through a relay-server process with its default transport, TLS 1.3 (TLSPeer.swift).
    case tls = "relay-tls"
    /// One TCP connection A ↔ B, nothing between: the floor.
    case direct
    /// Through `socat -b 262144`: a C forwarder copying between two sockets.
    case socat
    /// Through the original-style Python relay (Benchmarks/python-relay/relay.py).
    case python
}

/// A connected pair of peers and the forwarder between them (none for direct).
final class OpenPath {
    let kind: PathKind
    let a: PeerSocket
    let b: PeerSocket
    let forwarder: ChildProcess?

    init(kind: PathKind, a: PeerSocket, b: PeerSocket, forwarder: ChildProcess?) {
        self.kind = kind
        self.a = a
        self.b = b
        self.forwarder = forwarder
    }

    /// The forwarder's CPU time so far (user + system), in seconds.
    var forwarderCPUSeconds: Double? { forwarder?.cpuSeconds() }

    /// The forwarder's peak RSS so far, in KiB.
    var forwarderPeakKiB: Int? { forwarder?.peakResidentKiB() }

    /// Closes both peers, then stops the forwarder (SIGTERM; SIGKILL after `seconds`).
    func close(stopWithin seconds: Double = 5) {
        a.close()
        b.close()
        forwarder?.stop(within: seconds)
    }
}

/// Starts forwarders and connects peers through them. Every path carries the same v1
/// DATA frames once open; only the opening differs:
/// - relay: HELLO/WELCOME for both peers, then PEER_JOINED to the first;
/// - python: HELLO/WELCOME for both (the baseline's handshake, see relay.py);
/// - direct, socat: none (they carry bytes, not sessions).
/// Then one DATA frame goes A → B and one B → A, so the path is proven live before any
/// clock starts.
struct PathLauncher {
    var relayServer: String
    let socat: String?
    /// Why socat is missing, when it is (said in the report).
    var socatMissingReason = "socat is not on the PATH (apt-get install socat)"
    let python: String?
    let pythonScript: String?
    /// Put before relay-server's command line (valgrind for `--instructions`).
    var relayWrapper: [String] = []
    var relayStderr = "/dev/null"

    /// The frame limit the relay runs with: the default 1 MiB, plus the type byte, so a
    /// 1 MiB body fits (the sweep's largest message).
    static let relayMaxFrame = 1_048_577
    static let startTimeout = 10.0

    /// Why `kind` cannot run here, or nil when it can.
    func unavailableReason(_ kind: PathKind) -> String? {
        switch kind {
        case .relay, .direct, .tls: nil
        case .socat: socat == nil ? socatMissingReason : nil
        case .python:
            python == nil ? "python3 is not on the PATH"
                : pythonScript == nil ? "Benchmarks/python-relay/relay.py not found" : nil
        }
    }

    func open(_ kind: PathKind) throws -> OpenPath {
        switch kind {
        case .direct:
            let listener = try PeerListener()
            defer { listener.close() }
            let a = try PeerSocket.connect(port: listener.port)
            let b = try listener.accept(within: 5)
            return try proven(OpenPath(kind: kind, a: a, b: b, forwarder: nil))
        case .socat:
            let listener = try PeerListener()
            defer { listener.close() }
            let port = try PeerListener.freePort()
            let forwarder = try ChildProcess([
                socat!, "-b", "262144", "TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr",
                "TCP:127.0.0.1:\(listener.port),nodelay",
            ])
            let a = try PeerSocket.connect(port: port, retryingFor: Self.startTimeout)
            let b = try listener.accept(within: Self.startTimeout)
            return try proven(OpenPath(kind: kind, a: a, b: b, forwarder: forwarder))
        case .relay:
            let forwarder = try ChildProcess(
                relayWrapper + [
                    relayServer, "--insecure-plaintext", "--port", "0", "--max-frame", "\(Self.relayMaxFrame)",
                    "--log-level", "warning",
                ],
                stderrPath: relayStderr)
            return try joined(kind, forwarder: forwarder, expectPeerJoined: true)
        case .tls:
            return try openTLSRelay()
        case .python:
            let forwarder = try ChildProcess([python!, pythonScript!, "--port", "0"])
            return try joined(kind, forwarder: forwarder, expectPeerJoined: false)
        }
    }

    /// `secure` turns a connected socket into a TLS one (the TLS path).
    func joined(_ kind: PathKind, forwarder: ChildProcess, expectPeerJoined: Bool,
                secure: (PeerSocket) throws -> PeerSocket = { $0 }) throws -> OpenPath {
        let port = try forwarder.listeningPort(within: relayWrapper.isEmpty ? Self.startTimeout : 60)
        let a = try secure(PeerSocket.connect(port: port))
        try hello(a, name: "alice")
        let b = try secure(PeerSocket.connect(port: port))
        try hello(b, name: "bob")
        if expectPeerJoined {
            let (type, _) = try Self.readFrame(a)
            guard type == FrameType.peerJoined.rawValue else { throw BenchError("expected PEER_JOINED, got type \(type)") }
        }
        return try proven(OpenPath(kind: kind, a: a, b: b, forwarder: forwarder))
    }

    private func hello(_ socket: PeerSocket, name: String) throws {
        try socket.writeAll(Frame.hello(name: Array(name.utf8)).encoded())
        let (type, _) = try Self.readFrame(socket)
        guard type == FrameType.welcome.rawValue else { throw BenchError("expected WELCOME, got type \(type)") }
    }

    /// One DATA frame each way.
    private func proven(_ path: OpenPath) throws -> OpenPath {
        let probe = DataFrames.frame(bodyCount: 16)
        for (from, to) in [(path.a, path.b), (path.b, path.a)] {
            try from.writeAll(probe)
            let (type, body) = try Self.readFrame(to)
            guard type == FrameType.data.rawValue, body.count == 16 else {
                throw BenchError("\(path.kind): the probe frame did not arrive intact")
            }
        }
        return path
    }

    /// Reads one whole frame: its type and body.
    static func readFrame(_ socket: PeerSocket) throws -> (UInt8, [UInt8]) {
        var header = [UInt8](repeating: 0, count: FrameHeader.byteCount)
        try header.withUnsafeMutableBytes { (raw) throws in try socket.readExactly(into: raw) }
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length >= 1 else { throw BenchError("a frame of length 0") }
        var body = [UInt8](repeating: 0, count: length - 1)
        try body.withUnsafeMutableBytes { (raw) throws in try socket.readExactly(into: raw) }
        return (header[4], body)
    }
}
