import FuzzSupport
import RelayCrypto

// Fuzzes the end-to-end records and key-agreement messages of PROTOCOL.md section 7 with
// arbitrary input, under the i2r keys of case 1 of Tests/RelayCryptoTests/Vectors/e2e-v1.json
// (so that the seed corpus's genuine records open). Invariants:
// - no crash, whatever the input;
// - the contiguous and the generic (non-contiguous) `open` agree;
// - `open` succeeds only on a record's shape (first byte 0x02, length
//   `E2ERecord.count(contentCount:)` of what it returns); the r2i opener never opens an
//   i2r record (reflection);
// - a key-agreement message parses only when it is exactly `0x03 | 01...03 | 32 bytes`,
//   and encodes back to the input;
// - seal → open returns the input as content (kind from its first byte); flipping any one
//   bit of the record (the input picks which) makes `open` fail.

private func bytes(_ hex: String) -> [UInt8] {
    var result = [UInt8]()
    var iterator = hex.utf8.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        result.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
    }
    return result
}

// libFuzzer calls from one thread.
nonisolated(unsafe) private let schedule = try! E2EKeySchedule(
    sessionKey: bytes("8377ef797c3af51e8febd7483b2a7fb01fc5393d747229d1c7f2e182249d74b9"),
    role: .initiator, ownName: Array("alice".utf8), peerName: Array("bob".utf8),
    ownKey: X25519PrivateKey(rawRepresentation: bytes("882e333bbd8fb2ac973bf45398cf6a9b0ea684f315e507b032d59bf111bb6422")),
    peerPublicKey: bytes("de4ac4a81c642ad388ce091724bf97eb3fe21579ab7ace45d36133aa773b4649"))
nonisolated(unsafe) private let opener = schedule.makeOpener(for: .initiatorToResponder)
nonisolated(unsafe) private let reflected = schedule.makeOpener(for: .responderToInitiator)
nonisolated(unsafe) private let sealer = schedule.makeSealer(for: .initiatorToResponder)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordOpen(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let scattered = input.lazy.map { $0 }  // not contiguous: takes the generic path

    let opened = try? opener.open(input)
    Fuzz.require((try? opener.open(scattered)) == opened, "contiguous and generic open disagree")
    if let opened {
        Fuzz.require(input[0] == E2ERecord.typeByte && input.count == E2ERecord.count(contentCount: opened.content.count),
                     "open accepted \(input.count) bytes as \(opened.content.count) bytes of content")
    }
    Fuzz.require((try? reflected.open(input)) == nil || opened == nil, "both directions' keys opened one record")

    if let message = try? E2EAgreementMessage(parsing: input) {
        Fuzz.require(size == 34 && input[0] == 0x03 && (1...3).contains(input[1]), "agreement message parsed from \(size) bytes")
        Fuzz.require(message.encoded.elementsEqual(input), "agreement message does not encode back")
    } else {
        Fuzz.require(!(size == 34 && input[0] == 0x03 && (1...3).contains(input[1])), "a well-formed agreement message refused")
    }

    let kind = E2ERecordKind(rawValue: size == 0 ? 0 : input[0] % 4) ?? .chat
    let record = try! sealer.seal(kind, content: input)
    Fuzz.require(record.count == E2ERecord.count(contentCount: size), "record length")
    let reopened = try? opener.open(record)
    Fuzz.require(reopened?.kind == kind && reopened?.content.elementsEqual(input) == true, "seal → open lost the content")
    var forged = record
    let bit = size == 0 ? 0 : (Int(input[0]) << 8 | Int(input[size - 1])) % (record.count * 8)
    forged[bit / 8] ^= 1 << UInt8(bit % 8)
    Fuzz.require((try? opener.open(forged)) == nil, "open accepted a record with bit \(bit) flipped")
    return 0
}

/// libFuzzer's driver, or without it a replay of the files named as arguments.
@main
enum Main {
    static func main() {
        Fuzz.main(fuzzRecordOpen)
    }
}
