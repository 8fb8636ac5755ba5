/// Round-trip times of one message, in microseconds.
struct LatencyResult: Codable, Sendable {
    let bodyBytes: Int
    let rounds: Int
    let p50: Double
    let p99: Double
    let p999: Double
    let mean: Double

    init(bodyBytes: Int, samples: [Double]) {
        let sorted = samples.sorted()
        func percentile(_ q: Double) -> Double {
            let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(rank, 0), sorted.count - 1)]
        }
        self.bodyBytes = bodyBytes
        rounds = sorted.count
        p50 = percentile(0.5)
        p99 = percentile(0.99)
        p999 = percentile(0.999)
        mean = sorted.reduce(0, +) / Double(sorted.count)
    }
}

/// Ping-pong A → B → A: A writes one DATA frame and waits for it to come back; B echoes
/// each frame it receives. One message in flight, so every round pays the path's full
/// latency (wake-ups, syscalls, copies) twice.
enum RoundTripScenario {
    static func run(on path: OpenPath, bodyCount: Int, rounds: Int, warmup: Int) throws -> LatencyResult {
        let frame = DataFrames.frame(bodyCount: bodyCount)
        let total = rounds + warmup
        let echoSide = path.b
        let echo = BackgroundThread { () throws in
            var buffer = [UInt8](repeating: 0, count: frame.count)
            try buffer.withUnsafeMutableBytes { (bytes) throws in
                for _ in 0..<total {
                    try echoSide.readExactly(into: bytes)
                    try echoSide.writeAll(UnsafeRawBufferPointer(bytes))
                }
            }
        }
        var samples: [Double] = []
        samples.reserveCapacity(rounds)
        var reply = [UInt8](repeating: 0, count: frame.count)
        var failure: Error?
        frame.withUnsafeBytes { out in
            reply.withUnsafeMutableBytes { back in
                do {
                    for round in 0..<total {
                        let start = Clock.now()
                        try path.a.writeAll(out)
                        try path.a.readExactly(into: back)
                        let elapsed = Clock.now() - start
                        if round >= warmup { samples.append(elapsed * 1e6) }
                    }
                } catch {
                    failure = error
                    path.a.shutdownBoth()
                    path.b.shutdownBoth()
                }
            }
        }
        try echo.join()
        if let failure { throw failure }
        guard reply == frame else { throw BenchError("\(path.kind): the echoed frame differs from the one sent") }
        return LatencyResult(bodyBytes: bodyCount, samples: samples)
    }
}
