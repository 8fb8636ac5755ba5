import RelayProtocol

/// The traffic every path carries: v1 DATA frames, `length:u32 | 0x10 | body`. The body
/// stands for a sealed message; the relay never opens it, so it is filler here.
enum DataFrames {
    /// One DATA frame with a `bodyCount`-byte body.
    static func frame(bodyCount: Int, fill: UInt8 = 0xA5) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(FrameHeader.byteCount + bodyCount)
        Frame.appendDataHeader(bodyCount: bodyCount, to: &bytes)
        bytes.append(contentsOf: repeatElement(fill, count: bodyCount))
        return bytes
    }

    /// Whole DATA frames back to back, about `targetBytes` of them (at least one): what a
    /// sender hands the kernel in one write.
    static func batch(bodyCount: Int, targetBytes: Int) -> (bytes: [UInt8], frames: Int) {
        let one = frame(bodyCount: bodyCount)
        let frames = max(1, targetBytes / one.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames * one.count)
        for _ in 0..<frames { bytes.append(contentsOf: one) }
        return (bytes, frames)
    }

    /// The frame that ends a timed stream: a DATA frame whose body size differs from the
    /// stream's, so the receiver tells it apart without a frame type of its own.
    static func endMarker(streamBodyCount: Int) -> [UInt8] {
        frame(bodyCount: streamBodyCount == 1 ? 2 : 1, fill: 0xEE)
    }
}

/// Counts the DATA frames in a byte stream read in arbitrary pieces, without copying
/// bodies; stops at the end marker. Anything but DATA is a harness error.
struct FrameCounter {
    let bodyCount: Int
    private(set) var frames = 0
    private(set) var sawEndMarker = false
    private var header: [UInt8] = []
    private var bodyRemaining = 0
    private var currentLength = 0

    init(bodyCount: Int) {
        self.bodyCount = bodyCount
        header.reserveCapacity(FrameHeader.byteCount)
    }

    /// Counts the frames completed by `bytes`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        let count = bytes.count
        while offset < count {
            if bodyRemaining > 0 {
                let taken = min(bodyRemaining, count - offset)
                bodyRemaining -= taken
                offset += taken
                if bodyRemaining == 0 { try complete() }
                continue
            }
            let length: Int
            let type: UInt8
            if header.isEmpty, count - offset >= FrameHeader.byteCount {
                length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16
                    | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                type = bytes[offset + 4]
                offset += FrameHeader.byteCount
            } else {
                header.append(bytes[offset])
                offset += 1
                guard header.count == FrameHeader.byteCount else { continue }
                length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
                type = header[4]
                header.removeAll(keepingCapacity: true)
            }
            guard type == FrameType.data.rawValue, length >= 1 else {
                throw BenchError("expected a DATA frame, got type 0x\(String(type, radix: 16)) length \(length)")
            }
            currentLength = length
            bodyRemaining = length - 1
            if bodyRemaining == 0 { try complete() }
        }
    }

    private mutating func complete() throws {
        if currentLength - 1 == bodyCount {
            frames += 1
        } else if !sawEndMarker {
            sawEndMarker = true
        } else {
            throw BenchError("a DATA frame of \(currentLength - 1) bytes after the end marker")
        }
    }
}
