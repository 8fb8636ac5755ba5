import CLibEV
import CRelayShims

/// The libev loop a reactor runs on. All watchers of one loop belong to one thread.
public final class EventLoop {
    /// The loop pointer libev calls take.
    public let pointer: OpaquePointer

    /// The process's default loop, the only one libev lets watch signals.
    public static func makeDefault() -> EventLoop {
        guard let pointer = CRelayShims_ev_default_loop() else {
            fatalError("libev could not initialise its default loop")
        }
        return EventLoop(pointer: pointer)
    }

    private init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Runs until `stop()` is called or no active watcher remains.
    public func run() {
        _ = ev_run(pointer, 0)
    }

    /// Makes `run()` return after the current iteration.
    public func stop() {
        ev_break(pointer, Int32(EVBREAK_ALL))
    }

    /// The loop's cached current time, in seconds.
    public var now: Double { ev_now(pointer) }
}
