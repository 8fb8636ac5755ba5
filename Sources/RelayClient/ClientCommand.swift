/// Line-mode commands (the contract's section 7.4): a line that begins with `/` is a
/// command, whether standard input is a terminal or not; `//text` sends `/text`. In pipe
/// mode and for a service there are no commands (every byte is data).
public enum ClientCommand: Equatable, Sendable {
    case help
    case quit
    /// `/verify` or `/verify DDD DDD`: the words after the command, as typed.
    case verify(arguments: [String])
    case status
    case who
    /// Anything else that begins with `/` (the help is printed).
    case unknown(String)

    /// What one typed line is.
    public enum Line: Equatable, Sendable {
        /// A message to send, with a leading `//` already reduced to `/`.
        case message([UInt8])
        case command(ClientCommand)
    }

    /// Classifies one line (without its newline).
    public static func parse(_ line: [UInt8]) -> Line {
        let slash = UInt8(ascii: "/")
        guard line.first == slash else { return .message(line) }
        if line.count >= 2, line[1] == slash { return .message(Array(line.dropFirst())) }
        let text = String(decoding: line.dropFirst(), as: UTF8.self)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let word = words.first else { return .command(.unknown("/")) }
        switch word.lowercased() {
        case "help", "?": return .command(.help)
        case "quit", "exit": return .command(.quit)
        case "verify": return .command(.verify(arguments: Array(words.dropFirst())))
        case "status": return .command(.status)
        case "who": return .command(.who)
        default: return .command(.unknown("/" + word))
        }
    }

    /// The lines `/help` prints (standard error, as status lines).
    public static let helpLines = [
        "* commands (a line beginning with / is a command; type //text to send a line beginning with /):",
        "*   /help            this list",
        "*   /quit            leave now (what was typed before is sent first)",
        "*   /verify [DDD DDD] record the peer after comparing the SAS (end-to-end sessions)",
        "*   /status          relay, room, peer, encryption, verification, messages sent and received",
        "*   /who             who is in the room",
    ]
}

/// What `/status` reports: the facts gathered by the session.
public struct ClientStatusReport: Equatable, Sendable {
    public var relay: String
    /// The room code, or nil for the default room.
    public var room: String?
    public var peers: [String]
    public var encryption: String
    /// nil when there is nothing to verify (messages under the relay's key).
    public var verified: Bool?
    public var messagesSent: Int
    public var messagesReceived: Int

    public init(relay: String, room: String?, peers: [String], encryption: String, verified: Bool?,
                messagesSent: Int, messagesReceived: Int) {
        self.relay = relay
        self.room = room
        self.peers = peers
        self.encryption = encryption
        self.verified = verified
        self.messagesSent = messagesSent
        self.messagesReceived = messagesReceived
    }

    /// The status lines, in a fixed order (scripts may read them).
    public var lines: [String] {
        let peerText = peers.isEmpty ? "none" : peers.joined(separator: ", ")
        let verifiedText: String
        switch verified {
        case nil: verifiedText = "not applicable (messages under the relay's key)"
        case true?: verifiedText = "yes"
        case false?: verifiedText = "no"
        }
        return [
            "* relay: \(relay)",
            "* room: \(room ?? "(default room)")",
            "* peer: \(peerText)",
            "* encryption: \(encryption)",
            "* verified: \(verifiedText)",
            "* messages: \(messagesSent) sent, \(messagesReceived) received",
        ]
    }
}
