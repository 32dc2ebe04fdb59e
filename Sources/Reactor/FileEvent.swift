import CLibevent

/// Readiness of a raw file descriptor (a pipe, a pty master, a pidfd). The descriptor is not
/// owned: whoever opened it closes it, after releasing or disabling the event.
public final class FileEvent {
    public enum Kind { case read, write }
    private var event: OpaquePointer?
    /// Held so that the event_base outlives every event registered on it.
    private let loop: EventLoop
    private let callback: () -> Void
    public private(set) var isEnabled = false
    public let fd: Int32

    public init(loop: EventLoop, fd: Int32, kind: Kind, _ callback: @escaping () -> Void) {
        loop.preconditionInEventLoop()
        self.fd = fd
        self.callback = callback
        self.loop = loop
        let what = Int16(kind == .read ? EV_READ : EV_WRITE) | Int16(EV_PERSIST)
        event = event_new(loop.base, fd, what, fileEventCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    public func enable() {
        loop.preconditionInEventLoop()
        guard !isEnabled, let event else { return }
        event_add(event, nil)
        isEnabled = true
    }

    public func disable() {
        loop.preconditionInEventLoop()
        guard isEnabled, let event else { return }
        event_del(event)
        isEnabled = false
    }

    /// Frees the event; the descriptor may be closed afterwards.
    public func invalidate() {
        if let event { event_free(event) }
        event = nil
        isEnabled = false
    }

    deinit { invalidate() }

    fileprivate func fire() { callback() }
}

private func fileEventCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    let event = Unmanaged<FileEvent>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(event) { event.fire() }
}
