/// Line-mode commands (``ClientCommand``): `/help`, `/quit`, `/verify`, `/status`, `/who`.
extension ClientSession {
    /// Runs one command typed in line mode.
    func run(_ command: ClientCommand, _ actions: inout [ClientAction]) {
        switch command {
        case .help, .unknown:
            if case .unknown(let word) = command {
                actions.append(.status("! unknown command \(DisplayText.line(from: Array(word.utf8)))"))
            }
            for line in ClientCommand.helpLines { actions.append(.status(line)) }
        case .quit:
            quit(&actions)
        case .verify(let arguments):
            if trustRelay {
                actions.append(.status("! /verify: messages in this session are sealed under the relay's key (--trust-relay); there is no end-to-end key to verify"))
            } else {
                verify(arguments, &actions)
            }
        case .status:
            for line in statusReport.lines { actions.append(.status(line)) }
        case .who:
            let others = groupRoom ? members.map { DisplayText.line(from: $0) } : (peer.map { [$0.text] } ?? [])
            actions.append(.status("* in the room: " + ([settings.name.text + " (you)"] + others).joined(separator: ", ")))
        }
    }

    /// `/quit`: leave now. End-to-end, an end record goes first when the peer's identity
    /// arrived (lines still waiting for it are discarded, and counted).
    func quit(_ actions: inout [ClientAction]) {
        if !trustRelay, !ownEnded, let agreement, agreement.peerIdentity != nil, let record = agreement.seal(.end, []) {
            actions.append(.sendData(record))
            ownEnded = true
        }
        if !pending.isEmpty {
            actions.append(.status("* \(pending.count) line\(pending.count == 1 ? "" : "s") not sent (the peer's identity has not arrived): discarded"))
            pending.removeAll()
        }
        state = .leaving
        actions.append(.sendBye)
    }

    /// What `/status` shows.
    public var statusReport: ClientStatusReport {
        let encryption: String
        if settings.legacy {
            encryption = "legacy (key in clear, messages not authenticated)"
        } else if trustRelay {
            encryption = "relay-key (--trust-relay: sealed under the key the relay draws; the relay can read and forge)"
        } else if agreement?.step == .complete {
            encryption = "e2e (agreement \(agreement?.number ?? 0); the relay cannot read or forge)"
        } else {
            encryption = "e2e (no key agreed yet: nothing is sent)"
        }
        let others = groupRoom ? members.map { DisplayText.line(from: $0) } : (peer.map { [$0.text] } ?? [])
        return ClientStatusReport(
            relay: settings.relayLabel, room: settings.roomLabel, peers: others, encryption: encryption,
            verified: trustRelay ? nil : peerVerified, messagesSent: messagesSent, messagesReceived: messagesReceived)
    }
}
