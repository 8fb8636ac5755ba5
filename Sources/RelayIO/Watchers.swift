import CLibEV
import CRelayShims

/// A libev watcher owned by a Swift object. The C watcher lives on the heap (libev keeps
/// its address while it is active) and finds its owner again through its `data` field.
/// Start and stop are idempotent; the watcher is stopped before it is freed, and
/// `invalidate()` drops the handler so nothing it captured outlives its owner.
public final class Watcher<CWatcher> {
    private let loop: EventLoop
    fileprivate let pointer: UnsafeMutablePointer<CWatcher>
    private var handler: ((Int32) -> Void)?
    private let startWatcher: (OpaquePointer, UnsafeMutablePointer<CWatcher>) -> Void
    private let stopWatcher: (OpaquePointer, UnsafeMutablePointer<CWatcher>) -> Void

    fileprivate init(
        loop: EventLoop,
        initialize: (UnsafeMutablePointer<CWatcher>) -> Void,
        start: @escaping (OpaquePointer, UnsafeMutablePointer<CWatcher>) -> Void,
        stop: @escaping (OpaquePointer, UnsafeMutablePointer<CWatcher>) -> Void,
        handler: @escaping (Int32) -> Void
    ) {
        self.loop = loop
        self.handler = handler
        startWatcher = start
        stopWatcher = stop
        pointer = .allocate(capacity: 1)
        initialize(pointer)
        // Every libev watcher starts with the common `ev_watcher` fields.
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: ev_watcher.self).pointee.data =
            Unmanaged.passUnretained(self).toOpaque()
    }

    /// True while libev watches.
    public var isActive: Bool { CRelayShims_ev_is_active(pointer) != 0 }

    public func start() {
        if !isActive, handler != nil { startWatcher(loop.pointer, pointer) }
    }

    /// Stops watching; also clears an event that was fed but not yet delivered.
    public func stop() {
        stopWatcher(loop.pointer, pointer)
    }

    /// Stops the watcher for good and drops the handler (and what it captured).
    public func invalidate() {
        stop()
        handler = nil
    }

    /// Makes libev invoke the handler in the next loop iteration as if `events` happened:
    /// for input a TLS layer holds that the socket will not signal again.
    public func feed(_ events: Int32) {
        if handler != nil { ev_feed_event(loop.pointer, pointer, events) }
    }

    fileprivate static func fire(_ data: UnsafeMutableRawPointer?, _ revents: Int32) {
        guard let data else { return }
        let owner = Unmanaged<Watcher<CWatcher>>.fromOpaque(data).takeUnretainedValue()
        withExtendedLifetime(owner) { owner.handler?(revents) }
    }

    deinit {
        stop()
        pointer.deallocate()
    }
}

/// Watches a descriptor for readiness.
public typealias IOWatcher = Watcher<ev_io>
/// Fires once after a delay.
public typealias TimerWatcher = Watcher<ev_timer>
/// Fires on a signal (default loop only).
public typealias SignalWatcher = Watcher<ev_signal>

/// Readiness a descriptor is watched for.
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let read = IOEvents(rawValue: Int32(EV_READ))
    public static let write = IOEvents(rawValue: Int32(EV_WRITE))
}

extension Watcher where CWatcher == ev_io {
    /// A stopped watcher for `fd`; `handler` runs on each event until `invalidate()`.
    public convenience init(loop: EventLoop, fd: Int32, events: IOEvents, handler: @escaping (IOEvents) -> Void) {
        self.init(
            loop: loop,
            initialize: { CRelayShims_ev_io_init($0, { _, watcher, revents in IOWatcher.fire(watcher?.pointee.data, revents) }, fd, events.rawValue) },
            start: { ev_io_start($0, $1) },
            stop: { ev_io_stop($0, $1) },
            handler: { handler(IOEvents(rawValue: $0)) })
    }

    /// Feeds a readiness event (see ``feed(_:)``).
    public func feed(_ events: IOEvents) { feed(events.rawValue) }
}

extension Watcher where CWatcher == ev_timer {
    /// A stopped one-shot timer.
    public convenience init(loop: EventLoop, handler: @escaping () -> Void) {
        self.init(
            loop: loop,
            initialize: { CRelayShims_ev_timer_init($0, { _, watcher, revents in TimerWatcher.fire(watcher?.pointee.data, revents) }, 0, 0) },
            start: { ev_timer_start($0, $1) },
            stop: { ev_timer_stop($0, $1) },
            handler: { _ in handler() })
    }

    /// (Re)starts the timer to fire once, `seconds` from now.
    public func start(after seconds: Double) {
        stop()
        CRelayShims_ev_timer_set(pointer, seconds, 0)
        start()
    }
}

extension Watcher where CWatcher == ev_signal {
    /// A stopped watcher for `signal`.
    public convenience init(loop: EventLoop, signal: Int32, handler: @escaping () -> Void) {
        self.init(
            loop: loop,
            initialize: { CRelayShims_ev_signal_init($0, { _, watcher, revents in SignalWatcher.fire(watcher?.pointee.data, revents) }, signal) },
            start: { ev_signal_start($0, $1) },
            stop: { ev_signal_stop($0, $1) },
            handler: { _ in handler() })
    }
}

/// Fires when a child process exits (default loop only); libev reaps it.
public typealias ChildWatcher = Watcher<ev_child>

extension Watcher where CWatcher == ev_child {
    /// A stopped watcher for the child `pid`; start it before the loop runs again, so
    /// that an early exit is not missed.
    public convenience init(loop: EventLoop, pid: Int32, handler: @escaping () -> Void) {
        self.init(
            loop: loop,
            initialize: { CRelayShims_ev_child_init($0, { _, watcher, revents in ChildWatcher.fire(watcher?.pointee.data, revents) }, pid) },
            start: { ev_child_start($0, $1) },
            stop: { ev_child_stop($0, $1) },
            handler: { _ in handler() })
    }

    /// The child's wait status (as `waitpid` gives it) once it exited.
    public var waitStatus: Int32 { pointer.pointee.rstatus }
}
