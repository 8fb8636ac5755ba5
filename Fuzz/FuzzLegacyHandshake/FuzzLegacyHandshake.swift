import FuzzSupport
import RelayProtocol

// Fuzzes the legacy protocol's parsing (PROTOCOL.md section 4): the name a client's first
// read carries, then the `length:u32 | payload` stream that follows.
//
// Input: bytes 0-1 give the first read's length (modulo 300, so past the 255-byte limit
// too) and byte 2 the frame limit; the first read follows, then the stream. Invariants:
// - `LegacyFraming.name` accepts exactly what an independent reading of the rules
//   accepts (1...255 bytes of UTF-8, no control or format character, no line or paragraph
//   separator, no white space at either end),
//   keeps the bytes as sent, and agrees with the v1 rules for names of up to 32 bytes;
// - `frameCount` waits for 4 bytes, refuses a length of 0 or above the limit and nothing
//   else, and each frame it delimits re-encodes to the same bytes with `appendFrame`.

private let frameLimits: [UInt32] = [FrameHeader.defaultMaxFrame, 1, 16, 300]

/// The name rules, written out again without `PeerName`.
private func nameIsValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard (1...LegacyFraming.maximumNameCount).contains(bytes.count) else { return false }
    let text = String(decoding: bytes, as: UTF8.self)
    guard text.utf8.elementsEqual(bytes) else { return false }  // invalid UTF-8 was replaced
    let scalars = Array(text.unicodeScalars)
    if scalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) { return false }
    // Format characters (Cf) and line/paragraph separators (contract section 1).
    if scalars.contains(where: { $0.properties.generalCategory == .format || $0.value == 0x2028 || $0.value == 0x2029 }) {
        return false
    }
    return !scalars.first!.properties.isWhitespace && !scalars.last!.properties.isWhitespace
}

private func checkName(_ firstRead: UnsafeRawBufferPointer) {
    let name = try? LegacyFraming.name(from: firstRead)
    Fuzz.require((name != nil) == nameIsValid(firstRead),
                 "legacy name \(Array(firstRead)) accepted: \(name != nil), expected: \(nameIsValid(firstRead))")
    if let name {
        Fuzz.require(name.bytes.elementsEqual(firstRead) && name.text.utf8.elementsEqual(firstRead),
                     "the name's bytes differ from the read")
    }
    if firstRead.count <= PeerName.maximumByteCount {
        Fuzz.require(((try? PeerName(validating: firstRead)) != nil) == (name != nil),
                     "v1 and legacy rules disagree on a \(firstRead.count)-byte name")
    }
}

private func checkFrames(_ stream: UnsafeRawBufferPointer, maxFrame: UInt32) {
    var offset = 0
    while true {
        let rest = UnsafeRawBufferPointer(rebasing: stream[offset...])
        let length = rest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let count: Int?
        do {
            count = try LegacyFraming.frameCount(at: rest, maxFrame: maxFrame)
        } catch {
            Fuzz.require(rest.count >= 4 && (length == 0 || length > maxFrame), "refused a length of \(length)")
            Fuzz.require(error == .frameTooLarge(length: length, limit: maxFrame), "refused with \(error)")
            return
        }
        guard let count else {
            Fuzz.require(rest.count < 4, "no frame count with \(rest.count) bytes in")
            return
        }
        Fuzz.require(rest.count >= 4 && count == 4 + Int(length) && length >= 1 && length <= maxFrame,
                     "frame count \(count) for a length of \(length)")
        guard count <= rest.count else { return }
        var encoded: [UInt8] = []
        LegacyFraming.appendFrame(payload: UnsafeRawBufferPointer(rebasing: rest[4..<count]), to: &encoded)
        Fuzz.require(encoded.elementsEqual(rest[..<count]), "a frame does not re-encode to its bytes")
        offset += count
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLegacyHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size))
    let nameCount = (Int(input.byte()) << 8 | Int(input.byte())) % 300
    let maxFrame = frameLimits[Int(input.byte()) & 3]
    checkName(input.take(nameCount))
    checkFrames(input.rest(), maxFrame: maxFrame)
    return 0
}

/// libFuzzer's driver, or without it a replay of the files named as arguments.
@main
enum Main {
    static func main() {
        Fuzz.main(fuzzLegacyHandshake)
    }
}
