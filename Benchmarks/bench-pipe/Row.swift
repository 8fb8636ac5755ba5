/// One way of moving the bytes: a sender reading the generator's pipe, a relay, and a
/// receiver writing the counter's pipe. Each row starts its own relay and peers, in the
/// order its tools need (a listener before whoever connects to it).
protocol Row {
    /// The row's name in the report.
    var name: String { get }
    /// False when the receiver never sees the sender's end (ncat's broker): the counter
    /// stops at the expected byte count and the peers are stopped.
    var receiverSeesEnd: Bool { get }
    /// The commands run, by role (sender, relay, receiver), for the report.
    var commands: [String: String] { get }
    /// Starts the relay and the receiver, its standard output on `receiverOutput`.
    mutating func startRelayAndReceiver(receiverOutput: Int32) throws -> (relay: Child, receiver: Child)
    /// Starts the sender, its standard input on `senderInput`.
    mutating func startSender(senderInput: Int32) throws -> Child
    /// Releases what the row kept while its relay ran (called after every child stopped).
    func finish()
}

extension Row {
    func finish() {}
}

/// What every row needs: where children write their standard error, and the words that
/// tie them to the benchmark's life.
struct RowContext {
    let workDirectory: String
    let deathGuard: [String]

    func stderrPath(_ row: String, _ role: String) -> String {
        "\(workDirectory)/\(row)-\(role).stderr"
    }
}

extension Array where Element == String {
    /// The command as a shell would show it (words with spaces quoted).
    var shellText: String {
        map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
    }
}
