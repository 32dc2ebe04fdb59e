import CLibevent

/// A Unix signal delivered as a loop event (libevent's self-pipe), so handlers run as ordinary code.
public final class SignalWatch {
    private var event: OpaquePointer?
    /// Held so that the event_base outlives every event registered on it.
    private let loop: EventLoop
    private let callback: (Int32) -> Void

    public init(loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) {
        self.callback = callback
        self.loop = loop
        event = eb_evsignal_new(loop.base, signal, signalCallback, Unmanaged.passUnretained(self).toOpaque())
        event_add(event, nil)
    }

    public func cancel() {
        if let event { event_free(event) }
        event = nil
    }

    deinit { cancel() }

    fileprivate func fire(_ signal: Int32) { callback(signal) }
}

private func signalCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let watch = Unmanaged<SignalWatch>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(watch) { watch.fire(fd) }
}
