import RelayProtocol

/// Bytes written as they appear on the wire, in hex with optional spaces:
/// `wire("00 00 00 01 30")` is a BYE frame.
func wire(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") })
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    func value(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: preconditionFailure("not a hex digit in \(text)")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

/// A frame built by hand, without the library's encoder: `length:u32 | type | body`.
/// Used for frames the encoder cannot or should not produce.
func rawFrame(type: UInt8, body: [UInt8]) -> [UInt8] {
    rawFrame(length: UInt32(1 + body.count), type: type, body: body)
}

/// A frame built by hand with an explicit (possibly lying) length field.
func rawFrame(length: UInt32, type: UInt8, body: [UInt8] = []) -> [UInt8] {
    [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type] + body
}

/// The default frame limit, written out from the spec (1,048,576) rather than taken from
/// the library.
let specDefaultMaxFrame: UInt32 = 1_048_576

/// SplitMix64: a small seeded generator, so that every "random" chunking repeats exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` bytes from a seeded generator.
func randomBytes(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// What a decoder made of a stream: the frames, in order, then the error that stopped it
/// (if any) and the bytes left over when the stream ended without one.
struct DecodeOutcome: Equatable, CustomStringConvertible {
    var frames: [Frame] = []
    var error: ProtocolError?
    var leftoverByteCount = 0

    var description: String {
        let types = frames.map { "\($0.type)" }.joined(separator: ",")
        return "\(frames.count) frames [\(types)], error: \(error.map { "\($0)" } ?? "none"), leftover: \(leftoverByteCount)"
    }
}

/// Feeds `chunks` in order to one fresh decoder and, after each append, takes out every
/// complete frame, as a connection does after each read. Stops at the first error.
func decode<Chunks: Sequence>(
    _ chunks: Chunks, maxFrame: UInt32 = specDefaultMaxFrame
) -> DecodeOutcome where Chunks.Element: Sequence, Chunks.Element.Element == UInt8 {
    var decoder = FrameDecoder(maxFrame: maxFrame)
    var outcome = DecodeOutcome()
    for chunk in chunks {
        decoder.append(chunk)
        do {
            while let frame = try decoder.next() { outcome.frames.append(frame) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    outcome.leftoverByteCount = decoder.bufferedByteCount
    return outcome
}

/// Ways to cut one byte stream into appends (the swift-nio ByteToMessageDecoderVerifier idea).
enum Chunking {
    static func whole(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] { [bytes[...]] }

    static func byteByByte(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.indices.map { bytes[$0...$0] }
    }

    /// `[0..<cuts[0]]`, `[cuts[0]..<cuts[1]]`, ..., `[cuts.last...]`; cuts must be ascending.
    static func split(_ bytes: [UInt8], at cuts: Int...) -> [ArraySlice<UInt8>] {
        let bounds = [0] + cuts + [bytes.count]
        return zip(bounds, bounds.dropFirst()).map { bytes[$0..<$1] }
    }

    /// Chunks of 0 to `maximum` bytes (empty appends included on purpose), seeded.
    static func random(_ bytes: [UInt8], seed: UInt64, maximum: Int) -> [ArraySlice<UInt8>] {
        var generator = SeededGenerator(seed: seed)
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            // Mostly small chunks, now and then a large one, sometimes an empty append.
            let limit = Int.random(in: 0..<4, using: &generator) == 0 ? maximum : min(maximum, 16)
            let end = min(bytes.count, start + Int.random(in: 0...limit, using: &generator))
            chunks.append(bytes[start..<end])
            start = end
        }
        return chunks
    }
}

/// Where a decoder fed one byte at a time first refuses: how many bytes were in, and why.
struct Refusal: Equatable, CustomStringConvertible {
    var bytesIn: Int
    var error: ProtocolError
    var description: String { "\(error) after \(bytesIn) bytes" }
}

/// Feeds `bytes` one at a time, calling `next()` after each, and reports the first refusal
/// (nil if the bytes never made the decoder throw).
func firstRefusal(feedingByteByByte bytes: [UInt8], maxFrame: UInt32 = specDefaultMaxFrame) -> Refusal? {
    var decoder = FrameDecoder(maxFrame: maxFrame)
    for (index, byte) in bytes.enumerated() {
        decoder.append(CollectionOfOne(byte))
        do {
            while try decoder.next() != nil {}
        } catch {
            return Refusal(bytesIn: index + 1, error: error)
        }
    }
    return nil
}

/// `Frame.decode(type:body:)` on an array, as a `Result` so tests can compare it.
func decodeBody(type: FrameType, _ body: [UInt8]) -> Result<Frame, ProtocolError> {
    body.withUnsafeBytes { raw in
        do throws(ProtocolError) {
            return .success(try Frame.decode(type: type, body: raw))
        } catch {
            return .failure(error)
        }
    }
}

/// `FrameHeader.parse(_:maxFrame:)` on an array, as a `Result` so tests can compare it.
func parseHeader(_ bytes: [UInt8], maxFrame: UInt32 = specDefaultMaxFrame) -> Result<FrameHeader?, ProtocolError> {
    bytes.withUnsafeBytes { raw in
        do throws(ProtocolError) {
            return .success(try FrameHeader.parse(raw, maxFrame: maxFrame))
        } catch {
            return .failure(error)
        }
    }
}
