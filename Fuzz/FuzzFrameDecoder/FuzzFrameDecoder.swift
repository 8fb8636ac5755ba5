import FuzzSupport
import RelayProtocol

// Fuzzes `FrameDecoder`, and through it `FrameReader` (the reader relay-server runs),
// with arbitrary bytes in chunks the input chooses.
//
// Input: byte 0 picks how many chunk sizes follow (low 3 bits, 1...8), the frame limit
// (bits 3-4) and whether the first frame is judged as the relay judges a connection's
// first frame (bit 5: only a HELLO of at most 100 bytes); then one byte per chunk size
// (0 is an empty append), used in turn; the rest is the stream. Invariants:
// - the frames and the error are the same whatever the chunking (compared with the
//   stream decoded in one piece);
// - each frame re-encodes to exactly the bytes it was decoded from, and obeys its
//   type's rules;
// - `bufferedByteCount` is what was appended minus what the frames took;
// - an error is terminal: every later `next()` throws it again, more bytes or not;
// - a stream that ends without an error ends inside one incomplete frame.

private let frameLimits: [UInt32] = [FrameHeader.defaultMaxFrame, 1, 64, 300]

private struct Outcome: Equatable {
    var frames: [Frame] = []
    var error: ProtocolError?
}

private func drain(_ decoder: inout FrameDecoder, into outcome: inout Outcome) {
    do {
        while let frame = try decoder.next() { outcome.frames.append(frame) }
    } catch {
        outcome.error = error
    }
}

private func checkRules(of frame: Frame) {
    switch frame {
    case .hello(let name):
        Fuzz.require(name.count <= 255, "HELLO name of \(name.count) bytes")
    case .helloRoom(let name, let room):
        Fuzz.require(name.count <= 255 && room.count <= Frame.maximumRoomCount, "HELLO v2 of \(name.count), \(room.count) bytes")
    case .welcomeRoom:
        Fuzz.require(false, "a WELCOME decodes as version 1 unless asked for version 2")
    case .dataFrom(let name, _):
        Fuzz.require((try? PeerName(validating: name)) != nil, "DATA_FROM with an invalid name")
    case .welcome(let key, _, let peer):
        Fuzz.require(key.count == Frame.sessionKeyCount, "WELCOME key of \(key.count) bytes")
        Fuzz.require(peer.isEmpty || (try? PeerName(validating: peer)) != nil, "WELCOME with an invalid peer name")
    case .peerJoined(let name), .peerLeft(let name):
        Fuzz.require((try? PeerName(validating: name)) != nil, "presence frame with an invalid name")
    case .ping(let body), .pong(let body):
        Fuzz.require(body.count <= Frame.maximumPingBodyCount, "PING/PONG body of \(body.count) bytes")
    case .data, .bye, .error:
        break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size))
    let control = input.byte()
    let maxFrame = frameLimits[Int(control >> 3) & 3]
    let expectsHello = control & 0x20 != 0
    var chunkSizes = (0...Int(control & 7)).map { _ in Int(input.byte()) }
    if chunkSizes.allSatisfy({ $0 == 0 }) { chunkSizes = [1] }
    let stream = input.rest()

    var whole = FrameDecoder(maxFrame: maxFrame, expectsHello: expectsHello)
    whole.append(stream)
    var expected = Outcome()
    drain(&whole, into: &expected)

    var decoder = FrameDecoder(maxFrame: maxFrame, expectsHello: expectsHello)
    var actual = Outcome()
    var appended = 0
    var turn = 0
    while actual.error == nil, appended < stream.count {
        let count = min(chunkSizes[turn % chunkSizes.count], stream.count - appended)
        decoder.append(stream[appended..<(appended + count)])
        appended += count
        turn += 1
        drain(&decoder, into: &actual)
    }
    Fuzz.require(actual == expected, "chunked decoding \(actual) differs from whole decoding \(expected)")

    if expectsHello, let first = actual.frames.first {
        switch first {
        case .hello, .helloRoom:
            Fuzz.require(first.encoded().count <= 4 + Int(FrameHeader.maximumHelloLength), "a first HELLO longer than 100 was accepted")
        default:
            Fuzz.require(false, "a first frame other than HELLO was accepted: \(first)")
        }
    }

    var consumed = 0
    for frame in actual.frames {
        checkRules(of: frame)
        let encoded = frame.encoded()
        Fuzz.require(consumed + encoded.count <= stream.count
                        && encoded.elementsEqual(stream[consumed..<(consumed + encoded.count)]),
                     "\(frame) does not re-encode to the bytes it came from")
        consumed += encoded.count
    }

    if let error = actual.error {
        _ = error.code
        decoder.append(stream[appended...])
        decoder.append([0, 0, 0, 1, FrameType.bye.rawValue])
        for _ in 0..<2 {
            do {
                _ = try decoder.next()
                Fuzz.require(false, "next() succeeded after \(error)")
            } catch {
                Fuzz.require(error == actual.error, "a failed decoder threw \(error) after \(actual.error!)")
            }
        }
    } else {
        Fuzz.require(decoder.bufferedByteCount == stream.count - consumed,
                     "\(decoder.bufferedByteCount) bytes buffered, \(stream.count - consumed) expected")
        let leftover = UnsafeRawBufferPointer(rebasing: stream[consumed...])
        let judgedFirst = expectsHello && actual.frames.isEmpty
        do {
            if let header = judgedFirst ? try FrameHeader.parseFirst(leftover, maxFrame: maxFrame)
                                        : try FrameHeader.parse(leftover, maxFrame: maxFrame) {
                Fuzz.require(header.frameCount > leftover.count, "a whole frame was left undecoded")
            }
        } catch {
            Fuzz.require(false, "the leftover header fails (\(error)) but the decoder did not")
        }
    }
    return 0
}

/// libFuzzer's driver, or without it a replay of the files named as arguments.
@main
enum Main {
    static func main() {
        Fuzz.main(fuzzFrameDecoder)
    }
}
