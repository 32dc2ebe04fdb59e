import CLibevent

/// A one-shot or repeating timer on a loop. Cancelled by `cancel()` or when released.
public final class LoopTimer {
    private var event: OpaquePointer?
    /// Held so that the event_base outlives every event registered on it.
    private let loop: EventLoop
    private let callback: () -> Void
    private let interval: timeval
    private let repeats: Bool

    public init(loop: EventLoop, after seconds: Double, repeats: Bool = false, _ callback: @escaping () -> Void) {
        loop.preconditionInEventLoop()
        self.callback = callback
        self.loop = loop
        self.repeats = repeats
        self.interval = timeval(seconds: seconds)
        let flags: Int16 = repeats ? Int16(EV_PERSIST) : 0
        event = event_new(loop.base, -1, flags, timerCallback, Unmanaged.passUnretained(self).toOpaque())
        var tv = interval
        event_add(event, &tv)
    }

    /// Starts the countdown again from now.
    public func restart() {
        loop.preconditionInEventLoop()
        guard let event else { return }
        var tv = interval
        event_add(event, &tv)
    }

    public func cancel() {
        if let event {
            event_free(event)
            self.event = nil
        }
    }

    public var isActive: Bool { event != nil }

    deinit { cancel() }

    fileprivate func fire() {
        if !repeats {
            // A one-shot timer is spent: free it before the callback, which may release us.
            if let event { event_free(event) }
            event = nil
        }
        callback()
    }
}

private func timerCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let timer = Unmanaged<LoopTimer>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(timer) { timer.fire() }
}

extension timeval {
    init(seconds: Double) {
        let whole = seconds.rounded(.down)
        self.init(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1_000_000))
    }
}
