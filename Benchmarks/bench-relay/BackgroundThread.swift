#if canImport(Glibc)
import Glibc
#endif

/// A peer running on its own OS thread (a pthread: the harness measures threads that
/// block in `send`/`recv`, like the clients of a relay). `join()` returns what it threw.
final class BackgroundThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () throws -> Void
    private var failure: Error?

    init(_ body: @escaping () throws -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let this = Unmanaged<BackgroundThread>.fromOpaque(context!).takeRetainedValue()
            do { try this.body() } catch { this.failure = error }
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed")
    }

    /// Waits for the thread; rethrows its error.
    func join() throws {
        pthread_join(thread, nil)
        if let failure { throw failure }
    }
}
