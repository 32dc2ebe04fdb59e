import CLibevent
import Glibc
import Synchronization

/// One libevent `event_base`, driven by one thread. Everything registered on a loop (connections,
/// timers, file events) must be touched only from that loop's thread; `execute` is the one door in
/// from other threads, and it is for control (shutdown, statistics), never for payload.
public final class EventLoop: @unchecked Sendable {
    let base: OpaquePointer
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private var wakeEvent: OpaquePointer?
    /// A scratch buffer for reads from pipes and ptys, shared by everything on this loop: a read is
    /// handed on synchronously, so one buffer per thread is enough.
    public let scratch: UnsafeMutableRawBufferPointer
    public let index: Int
    /// Objects on this loop that keep themselves alive until one of its events (a session waiting
    /// to reap its child, a sweep): whoever stops driving the loop early (tests) drives it until
    /// none is left, or they and the loop leak. Touched only on the loop's thread.
    public var selfRetained = 0
    /// Connections written to during the current pass, written out before the loop waits again
    /// (`Connection+Flush`). Touched only on the loop's thread.
    var queuedFlushes: [Connection] = []
    /// `stop()` was asked: libevent forgets a loopbreak that comes between two passes.
    private let stopRequested = Atomic<Bool>(false)
    /// The thread running the loop right now (0: none), for the debug-build confinement checks.
    let runningThread = Atomic<UInt>(0)

    public init(index: Int = 0, scratchSize: Int = 64 * 1024) {
        Reactor.initializeOnce()
        guard let base = event_base_new() else { fatalError("event_base_new failed") }
        self.base = base
        self.index = index
        self.scratch = .allocate(byteCount: scratchSize, alignment: 16)
        let me = Unmanaged.passUnretained(self).toOpaque()
        wakeEvent = event_new(base, -1, Int16(EV_PERSIST), eventLoopWakeCallback, me)
        event_add(wakeEvent, nil)
    }

    deinit {
        if let wakeEvent { event_free(wakeEvent) }
        event_base_free(base)
        scratch.deallocate()
    }

    /// Runs until `stop()`, even with nothing registered: an event with no descriptor (the wake
    /// event) does not count as pending for libevent, which would otherwise return at once.
    public func runUntilStopped() {
        enterLoop()
        // One pass at a time (every callback whose event is ready), then the output the pass
        // produced is written, then the next wait: see `Connection+Flush`.
        while !stopRequested.load(ordering: .acquiring) {
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY)
            flushQueuedWrites()
        }
        stopRequested.store(false, ordering: .releasing)
        // Work sent after the last turn never runs; what it captured (often whatever holds this
        // loop) must not stay referenced from the loop forever. Released outside the lock, still
        // on the loop's thread: a deinit it triggers may touch the loop.
        var unrun = inbox.withLock { queue -> [@Sendable () -> Void] in
            let items = queue
            queue.removeAll()
            return items
        }
        unrun.removeAll()
        leaveLoop()
    }

    /// Runs one non-blocking pass (tests).
    public func runOnce(block: Bool = true) {
        enterLoop()
        event_base_loop(base, block ? EVLOOP_ONCE : EVLOOP_NONBLOCK)
        flushQueuedWrites()
        leaveLoop()
    }

    /// Safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        event_base_loopbreak(base)
        // Wakes a pass that has not begun waiting yet (it clears the loopbreak as it starts).
        event_active(wakeEvent, Int32(EV_READ), 0)
    }

    /// Runs `body` on the loop's thread, soon. Safe from any thread.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(body) }
        event_active(wakeEvent, Int32(EV_READ), 0)
    }

    fileprivate func drainInbox() {
        let work = inbox.withLock { queue -> [@Sendable () -> Void] in
            let items = queue
            queue.removeAll()
            return items
        }
        for item in work { item() }
    }

    /// Wall-clock-free monotonic seconds, for timeouts and statistics.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

private func eventLoopWakeCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    Unmanaged<EventLoop>.fromOpaque(arg!).takeUnretainedValue().drainInbox()
}

/// Process-wide libevent setup.
public enum Reactor {
    private static let once: Void = {
        evthread_use_pthreads()
        signal(SIGPIPE, SIG_IGN)
    }()

    public static func initializeOnce() { _ = once }
}
