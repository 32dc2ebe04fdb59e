import CLibevent
import Synchronization

/// Where libevent's own messages go. By default libevent writes them to stderr unbounded (a
/// failing accept() once wrote 7 million lines in 17 s); routed here they reach the gateway's
/// logger at most `burst` per second, with a count of what was dropped.
public enum LibeventLog {
    public enum Severity: Sendable { case debug, info, warning, error }
    public typealias Handler = @Sendable (Severity, String) -> Void

    private struct State {
        var handler: Handler?
        var windowStart = 0.0
        var inWindow = 0
        var dropped = 0
    }

    private static let state = Mutex(State())
    public static let burst = 10

    /// Routes libevent's messages to `handler`, rate-limited. Safe from any thread.
    public static func route(to handler: @escaping Handler) {
        state.withLock { $0.handler = handler }
        event_set_log_callback(libeventLogCallback)
    }

    static func log(_ severity: Int32, _ message: String) {
        let now = EventLoop.now()
        let (handler, dropped): (Handler?, Int?) = state.withLock { s in
            if now - s.windowStart >= 1 {
                let dropped = s.dropped
                s.windowStart = now
                s.inWindow = 0
                s.dropped = 0
                if dropped > 0 { return (s.handler, dropped) }
            }
            guard s.inWindow < burst else {
                s.dropped += 1
                return (nil, nil)
            }
            s.inWindow += 1
            return (s.handler, nil)
        }
        guard let handler else { return }
        if let dropped { handler(.warning, "libevent: \(dropped) messages dropped (rate limit)") }
        let level: Severity
        switch severity {
        case EVENT_LOG_DEBUG: level = .debug
        case EVENT_LOG_MSG: level = .info
        case EVENT_LOG_WARN: level = .warning
        default: level = .error
        }
        handler(level, "libevent: " + message)
    }
}

private func libeventLogCallback(_ severity: Int32, _ message: UnsafePointer<CChar>?) {
    LibeventLog.log(severity, message.map { String(cString: $0) } ?? "")
}
