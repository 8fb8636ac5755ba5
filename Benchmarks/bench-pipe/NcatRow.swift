/// The same bytes unencrypted through ncat's connection broker, the nearest thing ncat has
/// to a relay (clients connect to it; what one sends goes to every other):
///   relay     ncat --listen --broker 127.0.0.1 B
///   receiver  ncat --recv-only 127.0.0.1 B       (connected before the sender starts)
///   sender    ncat --send-only 127.0.0.1 B
/// The broker keeps the receiver connected after the sender leaves, so the receiver never
/// sees an end: the counter stops at the expected byte count and the three are stopped
/// with SIGTERM (their CPU and RSS still come from wait4).
struct NcatRow: Row {
    let ncat: String
    let context: RowContext
    let name = "ncat --broker (plain TCP)"
    let receiverSeesEnd = false
    private(set) var commands: [String: String] = [:]
    private var port = 0

    init(ncat: String, context: RowContext) {
        self.ncat = ncat
        self.context = context
    }

    mutating func startRelayAndReceiver(receiverOutput: Int32) throws -> (relay: Child, receiver: Child) {
        port = try Loopback.freePort()
        let relay = try start("relay", ["--listen", "--broker", "127.0.0.1", "\(port)"],
                              stdin: .path("/dev/null"), stdout: .path("/dev/null"))
        try Loopback.wait(for: .listening, port: port, child: relay, within: 10)
        let receiver = try start("receiver", ["--recv-only", "127.0.0.1", "\(port)"],
                                 stdin: .path("/dev/null"), stdout: .descriptor(receiverOutput))
        try Loopback.wait(for: .established, port: port, child: relay, within: 10)
        return (relay, receiver)
    }

    mutating func startSender(senderInput: Int32) throws -> Child {
        try start("sender", ["--send-only", "127.0.0.1", "\(port)"], stdin: .descriptor(senderInput), stdout: .path("/dev/null"))
    }

    private mutating func start(_ role: String, _ arguments: [String], stdin: Child.Stream, stdout: Child.Stream) throws -> Child {
        let command = [ncat] + arguments
        commands[role] = command.shellText
        return try Child(command, label: "ncat (\(role))", deathGuard: context.deathGuard, stdin: stdin, stdout: stdout,
                         stderrPath: context.stderrPath("ncat", role))
    }
}
