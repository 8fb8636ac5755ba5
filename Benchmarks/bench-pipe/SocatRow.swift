/// The same bytes unencrypted through socat, a C copy loop, in three processes like the
/// relay-client row:
///   receiver  socat -b 65536 TCP-LISTEN:A,bind=127.0.0.1,reuseaddr STDOUT
///   relay     socat -b 65536 TCP-LISTEN:B,bind=127.0.0.1,reuseaddr TCP:127.0.0.1:A
///   sender    socat -b 65536 STDIN TCP:127.0.0.1:B
/// (-b 65536: socat copies up to 64 KiB per read, as relay-client reads; its default is
/// 8 KiB.) The sender's end of input becomes a TCP shutdown that every hop passes on, so
/// the receiver's standard output ends like relay-client's.
struct SocatRow: Row {
    let socat: String
    let context: RowContext
    let name = "socat (plain TCP)"
    let receiverSeesEnd = true
    private(set) var commands: [String: String] = [:]
    private var relayPort = 0

    init(socat: String, context: RowContext) {
        self.socat = socat
        self.context = context
    }

    mutating func startRelayAndReceiver(receiverOutput: Int32) throws -> (relay: Child, receiver: Child) {
        let receiverPort = try Loopback.freePort()
        relayPort = try Loopback.freePort()
        let receiver = try start("receiver", ["TCP-LISTEN:\(receiverPort),bind=127.0.0.1,reuseaddr", "STDOUT"],
                                 stdin: .path("/dev/null"), stdout: .descriptor(receiverOutput))
        try Loopback.wait(for: .listening, port: receiverPort, child: receiver, within: 10)
        let relay = try start("relay", ["TCP-LISTEN:\(relayPort),bind=127.0.0.1,reuseaddr", "TCP:127.0.0.1:\(receiverPort)"],
                              stdin: .path("/dev/null"), stdout: .path("/dev/null"))
        try Loopback.wait(for: .listening, port: relayPort, child: relay, within: 10)
        return (relay, receiver)
    }

    mutating func startSender(senderInput: Int32) throws -> Child {
        try start("sender", ["STDIN", "TCP:127.0.0.1:\(relayPort)"], stdin: .descriptor(senderInput), stdout: .path("/dev/null"))
    }

    private mutating func start(_ role: String, _ addresses: [String], stdin: Child.Stream, stdout: Child.Stream) throws -> Child {
        let command = [socat, "-b", "65536"] + addresses
        commands[role] = command.shellText
        return try Child(command, label: "socat (\(role))", deathGuard: context.deathGuard, stdin: stdin, stdout: stdout,
                         stderrPath: context.stderrPath("socat", role))
    }
}
