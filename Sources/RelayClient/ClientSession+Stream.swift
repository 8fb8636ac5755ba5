/// Pipe mode (`--pipe`) and services (`--exec`): the session's side of a byte stream.
///
/// End-to-end (the default): each chunk is one stream record (kind 0x01) and the end one
/// end record (kind 0x02), sealed only once the peer's identity record was received and
/// checked (the contract's 7.3 "Order"); until then at most one chunk waits and the loop
/// stops reading (``ClientSession/isHoldingInput``). `--trust-relay`: each chunk is one
/// relay-key message (section 3), never empty; the end is an empty message.
extension ClientSession {
    /// True while the loop must not read more of the stream: bytes wait for the peer's
    /// identity record (end-to-end pipe mode), so what waits is one read at most.
    public var isHoldingInput: Bool { settings.pipe && !trustRelay && !pending.isEmpty }

    /// One chunk of standard input (pipe mode); empty chunks are not sent.
    func sendChunk(_ bytes: [UInt8], _ actions: inout [ClientAction]) {
        guard settings.pipe, !bytes.isEmpty, !ownEnded else { return }
        if trustRelay {
            sendRelayKeyed(bytes, &actions)
            return
        }
        guard let agreement, agreement.peerIdentity != nil, pending.isEmpty else {
            pending.append(bytes)
            return
        }
        if let record = agreement.seal(.stream, bytes) {
            actions.append(.sendData(record))
            messagesSent += 1
        }
    }

    /// This side's end, once it can go: end-to-end after the peer's identity record and
    /// every chunk waiting for it (they are queued before it, so it leaves last).
    func sendStreamEnd(_ actions: inout [ClientAction]) {
        guard !ownEnded else { return }
        if trustRelay {
            sendRelayKeyed([], counted: false, &actions)
            ownEnded = true
            return
        }
        guard let agreement, agreement.peerIdentity != nil, pending.isEmpty,
              let record = agreement.seal(.end, [])
        else { return }
        actions.append(.sendData(record))
        ownEnded = true
    }

    /// A relay-key message in pipe mode: stream bytes, or (empty) the peer's end.
    func receiveRelayKeyedChunk(_ plaintext: [UInt8], from sender: String, _ actions: inout [ClientAction]) {
        guard !streamPeerEnded else {
            actions.append(.status("! bytes from \(sender) after the end of its stream: refused"))
            return
        }
        if plaintext.isEmpty {
            peerStreamEnded(&actions)
        } else {
            messagesReceived += 1
            actions.append(.writeStream(plaintext))
        }
    }

    /// The peer's end arrived: the local output closes once written.
    func peerStreamEnded(_ actions: inout [ClientAction]) {
        guard !streamPeerEnded else { return }
        streamPeerEnded = true
        actions.append(.endStream)
    }

    /// A message for a line service: one line on its standard input (a newline inside
    /// cannot split it in two).
    func deliverLine(_ content: [UInt8], _ actions: inout [ClientAction]) {
        var line = content.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        line.append(0x0A)
        actions.append(.writeStream(line))
    }

    /// Pipe mode: the peer left. A pipe peer leaves only once both streams ended; before
    /// that, bytes were lost: the session fails (true).
    func streamPeerLeft(_ name: String, _ actions: inout [ClientAction]) -> Bool {
        guard state == .chatting || state == .finishing else { return false }
        if !streamPeerEnded {
            fail("! \(name) left without its end record: the last bytes of \(name)'s stream may have been lost", &actions)
            return true
        }
        if !ownEnded {
            fail("! \(name) left before the end of this side's stream: the rest cannot be delivered", &actions)
            return true
        }
        return false
    }
}
