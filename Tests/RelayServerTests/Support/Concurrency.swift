import Foundation
import Synchronization

/// Work on its own thread (a blocking writer, a sampler), joined with a deadline.
final class BackgroundWork<Value: Sendable>: Sendable {
    private let name: String
    private let outcome = Mutex<Result<Value, any Error>?>(nil)
    private let finished = DispatchSemaphore(value: 0)

    init(_ name: String, _ body: @escaping @Sendable () throws -> Value) {
        self.name = name
        let thread = Thread { [self] in
            let result = Result { try body() }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        thread.start()
    }

    /// The work's result; throws its error, or a harness error after `seconds`.
    func value(within seconds: Double) throws -> Value {
        guard finished.wait(timeout: .now() + seconds) == .success else {
            throw HarnessError("\(name) did not finish within \(seconds) s")
        }
        finished.signal()  // later calls return at once
        return try outcome.withLock { $0! }.get()
    }

    /// True once the work has returned or thrown.
    var isFinished: Bool { outcome.withLock { $0 != nil } }
}

/// A counter shared between threads.
final class SharedCounter: Sendable {
    private let storage = Atomic<Int>(0)
    func add(_ amount: Int) { storage.add(amount, ordering: .relaxed) }
    var value: Int { storage.load(ordering: .relaxed) }
}

/// A flag one thread raises and others poll.
final class SharedFlag: Sendable {
    private let storage = Atomic<Bool>(false)
    func raise() { storage.store(true, ordering: .relaxed) }
    var isRaised: Bool { storage.load(ordering: .relaxed) }
}

/// A small seeded generator (xorshift64*), so "random" input repeats exactly.
struct Xorshift: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// `count` bytes, eight at a time.
    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < count {
                var word = next()
                let take = min(8, count - offset)
                withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: take) }
                offset += take
            }
        }
        return result
    }
}
