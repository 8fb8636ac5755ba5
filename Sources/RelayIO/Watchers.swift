import CLibEV
import CRelayShims

/// An `ev_io` watcher owned by a Swift object. The C watcher lives on the heap (libev
/// keeps its address while it is active) and finds this object again through its `data`
/// field. Start and stop are idempotent; the watcher is stopped before it is freed.
public final class IOWatcher {
    /// What the watcher waits for.
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let read = Events(rawValue: Int32(EV_READ))
        public static let write = Events(rawValue: Int32(EV_WRITE))
    }

    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_io>
    private var handler: ((Events) -> Void)?

    /// Creates a stopped watcher for `fd`; `handler` runs on each event until `invalidate()`.
    public init(loop: EventLoop, fd: Int32, events: Events, handler: @escaping (Events) -> Void) {
        self.loop = loop
        self.handler = handler
        watcher = .allocate(capacity: 1)
        CRelayShims_ev_io_init(watcher, ioWatcherCallback, fd, events.rawValue)
        watcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    /// True while libev watches the descriptor.
    public var isActive: Bool { CRelayShims_ev_is_active(watcher) != 0 }

    public func start() {
        if !isActive, handler != nil { ev_io_start(loop.pointer, watcher) }
    }

    /// Stops watching; also clears an event fed but not yet delivered.
    public func stop() {
        ev_io_stop(loop.pointer, watcher)
    }

    /// Stops the watcher for good and drops the handler (and what it captured).
    public func invalidate() {
        stop()
        handler = nil
    }

    /// Makes libev invoke the handler in the next loop iteration as if the descriptor
    /// were ready: for input a TLS layer holds that the socket will not signal again.
    public func feed(_ events: Events) {
        if handler != nil { ev_feed_event(loop.pointer, watcher, events.rawValue) }
    }

    fileprivate func fire(_ revents: Int32) {
        handler?(Events(rawValue: revents))
    }

    deinit {
        stop()
        watcher.deallocate()
    }
}

private func ioWatcherCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ revents: Int32) {
    guard let data = watcher?.pointee.data else { return }
    let owner = Unmanaged<IOWatcher>.fromOpaque(data).takeUnretainedValue()
    withExtendedLifetime(owner) { owner.fire(revents) }
}

/// An `ev_timer` owned by a Swift object; see ``IOWatcher`` for the ownership rules.
public final class TimerWatcher {
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_timer>
    private var handler: (() -> Void)?

    /// Creates a stopped one-shot timer.
    public init(loop: EventLoop, handler: @escaping () -> Void) {
        self.loop = loop
        self.handler = handler
        watcher = .allocate(capacity: 1)
        CRelayShims_ev_timer_init(watcher, timerWatcherCallback, 0, 0)
        watcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    public var isActive: Bool { CRelayShims_ev_is_active(watcher) != 0 }

    /// (Re)starts the timer to fire once, `seconds` from now.
    public func start(after seconds: Double) {
        stop()
        guard handler != nil else { return }
        CRelayShims_ev_timer_set(watcher, seconds, 0)
        ev_timer_start(loop.pointer, watcher)
    }

    public func stop() {
        if isActive { ev_timer_stop(loop.pointer, watcher) }
    }

    public func invalidate() {
        stop()
        handler = nil
    }

    fileprivate func fire() { handler?() }

    deinit {
        stop()
        watcher.deallocate()
    }
}

private func timerWatcherCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_timer>?, _ revents: Int32) {
    guard let data = watcher?.pointee.data else { return }
    let owner = Unmanaged<TimerWatcher>.fromOpaque(data).takeUnretainedValue()
    withExtendedLifetime(owner) { owner.fire() }
}

/// An `ev_signal` watcher (default loop only); see ``IOWatcher`` for the ownership rules.
public final class SignalWatcher {
    private let loop: EventLoop
    private let watcher: UnsafeMutablePointer<ev_signal>
    private var handler: (() -> Void)?

    public init(loop: EventLoop, signal: Int32, handler: @escaping () -> Void) {
        self.loop = loop
        self.handler = handler
        watcher = .allocate(capacity: 1)
        CRelayShims_ev_signal_init(watcher, signalWatcherCallback, signal)
        watcher.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    public func start() {
        if CRelayShims_ev_is_active(watcher) == 0, handler != nil { ev_signal_start(loop.pointer, watcher) }
    }

    public func stop() {
        if CRelayShims_ev_is_active(watcher) != 0 { ev_signal_stop(loop.pointer, watcher) }
    }

    public func invalidate() {
        stop()
        handler = nil
    }

    fileprivate func fire() { handler?() }

    deinit {
        stop()
        watcher.deallocate()
    }
}

private func signalWatcherCallback(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_signal>?, _ revents: Int32) {
    guard let data = watcher?.pointee.data else { return }
    let owner = Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue()
    withExtendedLifetime(owner) { owner.fire() }
}
