import Foundation

/// A body run on its own thread (the feeder and the counter block in `write` and `read`
/// at the same time); `join()` waits for it and returns its result. Workers never start
/// children: a child's death signal follows the thread that started it.
final class Worker<Result>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result?

    init(_ name: String, _ body: @escaping @Sendable () -> Result) {
        let thread = Thread { [self] in
            result = body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    func join() -> Result {
        done.wait()
        guard let result else { preconditionFailure("a worker finished without a result") }
        return result
    }
}
