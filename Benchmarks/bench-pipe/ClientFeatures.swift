/// What the relay-client being measured accepts, read from its `--help`, so that one
/// harness measures every build: the older pipe branch has no rooms and no end-to-end
/// mode (its pipe mode is relay-key only); main's client has both.
struct ClientFeatures: Codable, Sendable {
    var rooms = false
    var trustRelay = false
    var noProgress = false

    static func probe(relayClient: String, workDirectory: String) throws -> ClientFeatures {
        let helpPath = workDirectory + "/relay-client.help"
        let child = try Child([relayClient, "--help"], label: "relay-client --help", deathGuard: [],
                              stdin: .path("/dev/null"), stdout: .path(helpPath), stderrPath: "/dev/null")
        guard child.waitForExit(within: 30) != nil else { throw BenchError("relay-client --help did not finish") }
        let help = (LineFile.lines(helpPath) ?? []).joined(separator: "\n")
        guard help.contains("--pipe") else { throw BenchError("\(relayClient) has no --pipe option: build a client with pipe mode") }
        return ClientFeatures(rooms: help.contains("--room "), trustRelay: help.contains("--trust-relay"),
                              noProgress: help.contains("--no-progress"))
    }

    /// The session mode the clients run in, as the report names it.
    func mode(trustRelay asked: Bool) -> String {
        if !trustRelay { return "relay key (this relay-client has no end-to-end mode; its pipe mode seals under the relay's key)" }
        return asked ? "relay key (--trust-relay)" : "end-to-end (the default)"
    }
}
