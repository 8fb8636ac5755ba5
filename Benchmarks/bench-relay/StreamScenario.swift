/// What the receiver saw of a one-way stream.
struct StreamResult: Codable, Sendable {
    let bodyBytes: Int
    let frames: Int
    let seconds: Double

    /// Body bytes per second at the receiver, in MB/s (10^6 bytes).
    var megabytesPerSecond: Double { Double(frames * bodyBytes) / seconds / 1e6 }
    var messagesPerSecond: Double { Double(frames) / seconds }
}

/// One-way traffic A → B: A writes batches of whole DATA frames (about 256 KiB per
/// write, or one frame when frames are larger) as fast as the path takes them, until
/// `frameLimit` frames or `secondsLimit` seconds, then an end marker; B reads with
/// 1 MiB reads and counts frames. The clock runs from A's first write to B's receipt of
/// the marker, so whatever the path buffers is counted only once it arrives.
enum StreamScenario {
    static let writeBatchBytes = 256 * 1024
    static let readBufferBytes = 1 << 20

    static func run(on path: OpenPath, bodyCount: Int, frameLimit: Int? = nil,
                    secondsLimit: Double? = nil) throws -> StreamResult {
        let batch = DataFrames.batch(bodyCount: bodyCount, targetBytes: writeBatchBytes)
        let frameBytes = batch.bytes.count / batch.frames
        let marker = DataFrames.endMarker(streamBodyCount: bodyCount)
        let sender = path.a
        let start = Clock.now()
        let writer = BackgroundThread { () throws in
            var sent = 0
            try batch.bytes.withUnsafeBytes { (bytes) throws in
                while true {
                    var frames = batch.frames
                    if let frameLimit { frames = min(frames, frameLimit - sent) }
                    if frames <= 0 { break }
                    try sender.writeAll(UnsafeRawBufferPointer(rebasing: bytes[0..<(frames * frameBytes)]))
                    sent += frames
                    if let secondsLimit, Clock.now() - start >= secondsLimit { break }
                }
            }
            try sender.writeAll(marker)
        }
        var counter = FrameCounter(bodyCount: bodyCount)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBufferBytes, alignment: 64)
        defer { buffer.deallocate() }
        var readError: Error?
        do {
            while !counter.sawEndMarker {
                let count = try path.b.readSome(into: buffer)
                try counter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
        } catch {
            readError = error
            // Unblock a writer stuck on a full socket.
            path.b.shutdownBoth()
        }
        let seconds = Clock.now() - start
        try writer.join()
        if let readError { throw readError }
        if let frameLimit, counter.frames != frameLimit {
            throw BenchError("\(path.kind): \(counter.frames) frames arrived, \(frameLimit) were sent")
        }
        return StreamResult(bodyBytes: bodyCount, frames: counter.frames, seconds: seconds)
    }
}
