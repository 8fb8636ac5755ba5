import RelayCrypto
import RelayIO
import RelayProtocol

/// The client's side of one connection to the relay: it owns the byte stream (plain TCP
/// or TLS; ``replace(stream:)`` swaps it, for a later reconnect), reads frames with the
/// relay's own ``FrameReader`` in either wire format, and turns them into
/// ``ClientInput``s; it encodes what the session sends.
public final class RelayConnection {
    public private(set) var stream: ByteStream
    let input = InputBuffer(capacity: 64 * 1024)
    let output: OutputQueue
    private var reader: FrameReader
    /// The format's own framing of what is sent.
    let format: FrameReader.Format
    /// True when HELLO was version 2: WELCOME is then read in its version 2 layout.
    let roomHello: Bool
    /// Legacy: the 32 raw key bytes have not arrived yet.
    private var awaitingLegacyKey: Bool
    /// Legacy: half-close once everything is written.
    private(set) var closeWriteWhenDrained = false
    /// The client's frame limit (DATA_FROM may carry up to 33 bytes more than DATA: its
    /// sender's name).
    private(set) var maxFrame: UInt32

    public init(stream: ByteStream, legacy: Bool, roomHello: Bool, maxFrame: UInt32) {
        self.stream = stream
        output = OutputQueue(stream: stream)
        format = legacy ? .legacy : .framed
        self.roomHello = roomHello
        self.maxFrame = maxFrame
        awaitingLegacyKey = legacy
        reader = FrameReader(format: format, maxFrame: legacy ? maxFrame : maxFrame &+ 33)
    }

    /// The relay's WELCOME can only lower the limit.
    func lowerLimit(to limit: UInt32) {
        guard limit < maxFrame else { return }
        maxFrame = limit
        reader = FrameReader(format: format, maxFrame: format == .legacy ? limit : limit &+ 33)
    }

    /// Puts another stream in place of the current one (nothing queued is kept).
    public func replace(stream: ByteStream) {
        self.stream = stream
        output.removeAll()
    }

    /// The first bytes: HELLO (version 1, or 2 with a room), or the legacy raw name.
    func sendHello(name: PeerName, room: [UInt8]?) {
        if format == .legacy {
            output.append(name.bytes)
        } else if let room {
            output.append(Frame.helloRoom(name: name.bytes, room: room).encoded())
        } else {
            output.append(Frame.hello(name: name.bytes).encoded())
        }
    }

    /// Queues what a session action sends; false for actions that send nothing.
    @discardableResult
    func send(_ action: ClientAction) -> Bool {
        var bytes: [UInt8] = []
        switch action {
        case .sendData(let body):
            // The header alone, then the body straight into the queue beside it: a 64 KiB
            // stream record is copied once (into the queue), not twice, and the frame
            // goes out in one write (over TLS, no record for the header alone).
            if format == .legacy {
                LegacyFraming.appendLengthField(payloadCount: body.count, to: &bytes)
            } else {
                FrameHeader(length: UInt32(truncatingIfNeeded: 1 + body.count), type: .data).write(into: &bytes)
            }
            bytes.withUnsafeBytes { header in
                body.withUnsafeBytes { output.append(header, followedBy: $0) }
            }
            return true
        case .sendPong(let body):
            guard format == .framed else { return false }
            Frame.pong(body).encode(into: &bytes)
        case .sendBye:
            // Legacy: no BYE; once everything is written, half-close and wait for the
            // relay's close (closing at once could find unread input, and a close with
            // unread input is a reset that discards what the kernel has not sent yet).
            guard format == .framed else {
                closeWriteWhenDrained = true
                return true
            }
            Frame.bye.encode(into: &bytes)
        default:
            return false
        }
        output.append(bytes)
        return true
    }

    /// Writes what the kernel takes; true when everything is written.
    func flush() throws(IOError) -> Bool {
        let drained = try output.flush()
        if drained, closeWriteWhenDrained {
            closeWriteWhenDrained = false
            stream.closeWrite()
        }
        return drained
    }

    /// Reads what the stream has. Returns the inputs decoded (`.relayClosed` at EOF),
    /// or throws the read error.
    func receive() throws(IOError) -> [ClientInput] {
        switch try input.read(from: stream, limit: 256 * 1024) {
        case .wouldBlock:
            return []
        case .processed(0):
            return [.relayClosed]
        case .processed:
            return decode()
        }
    }

    /// Every whole unit in the input buffer, decoded; a frame that cannot be read ends
    /// the list with a failure.
    func decode() -> [ClientInput] {
        var inputs: [ClientInput] = []
        var consumed = 0
        let bytes = input.readableBytes
        defer { input.consume(consumed) }
        if awaitingLegacyKey {
            guard bytes.count >= AESCBCCipher.keySize else { return [] }
            let key = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(rebasing: bytes[0..<AESCBCCipher.keySize]))
            inputs.append(.welcome(ClientWelcome(sessionKey: Array(key), maxFrame: maxFrame, peers: [])))
            SecureMemory.wipe(key)
            consumed = AESCBCCipher.keySize
            awaitingLegacyKey = false
        }
        while true {
            let unit: FrameReader.Unit?
            do {
                unit = try reader.next(in: bytes, at: consumed)
            } catch {
                // The reader's limit has room for DATA_FROM's name; report the client's own.
                if case .frameTooLarge(let length, _) = error {
                    inputs.append(.unreadable("\(ProtocolError.frameTooLarge(length: length, limit: maxFrame))"))
                } else {
                    inputs.append(.unreadable("\(error)"))
                }
                return inputs
            }
            guard let unit else { return inputs }
            switch unit {
            case .dataRun(let range, _, _):
                var offset = range.lowerBound
                let header = format == .legacy ? LegacyFraming.lengthFieldCount : FrameHeader.byteCount
                while offset < range.upperBound {
                    let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    let end = offset + 4 + length
                    if format == .framed, length > maxFrame {
                        inputs.append(.unreadable("\(ProtocolError.frameTooLarge(length: UInt32(length), limit: maxFrame))"))
                        return inputs
                    }
                    inputs.append(.data(Array(bytes[(offset + header)..<end])))
                    offset = end
                }
            case .control(let header, let body):
                let bodyBytes = UnsafeRawBufferPointer(rebasing: bytes[body])
                if header.type == .welcome {
                    do {
                        inputs.append(.welcome(try welcome(bodyBytes)))
                    } catch {
                        inputs.append(.unreadable("\(error)"))
                        return inputs
                    }
                    // The key is now in the session only.
                    SecureMemory.wipe(UnsafeMutableRawBufferPointer(mutating: bodyBytes))
                } else if header.type != .dataFrom, header.length > maxFrame {
                    inputs.append(.unreadable("\(ProtocolError.frameTooLarge(length: header.length, limit: maxFrame))"))
                    return inputs
                } else {
                    do {
                        inputs.append(Self.input(for: try Frame.decode(type: header.type, body: bodyBytes)))
                    } catch {
                        inputs.append(.unreadable("\(error)"))
                        return inputs
                    }
                }
            }
            consumed = unit.end
        }
    }

    private func welcome(_ body: UnsafeRawBufferPointer) throws(ProtocolError) -> ClientWelcome {
        if roomHello {
            guard case .welcomeRoom(let key, let maxFrame, let roomSize, let peers) = try Frame.decodeWelcomeRoom(body) else {
                throw .malformedBody(.welcome)
            }
            return ClientWelcome(sessionKey: key, maxFrame: maxFrame, roomSize: Int(roomSize), peers: peers)
        }
        let welcome = try WelcomeBody(parsing: body)
        return ClientWelcome(sessionKey: Array(body[welcome.sessionKeyRange]), maxFrame: welcome.maxFrame,
                             peers: welcome.peer.isEmpty ? [] : [welcome.peer])
    }

    private static func input(for frame: Frame) -> ClientInput {
        switch frame {
        case .peerJoined(let name): .peerJoined(name)
        case .peerLeft(let name): .peerLeft(name)
        case .data(let body): .data(body)
        case .dataFrom(let name, let sealed): .dataFrom(name: name, sealed: sealed)
        case .ping(let body): .ping(body)
        case .pong: .pong
        case .error(let code, let message): .relayError(code: code, message: message)
        case .hello, .helloRoom, .welcome, .welcomeRoom, .bye: .unexpectedFrame("\(frame.type)")
        }
    }
}
