import ExecModel
import Metrics
import Reactor
import Synchronization

/// What the gateway reports to `/metrics` (`--metrics-listen`), in the words of its events: the
/// rest of the gateway calls these functions and never names a metric. Every call is per
/// connection, per session or per dial, never per frame (bytes are counted per session and
/// added in `SessionByteMeter`). Without `--metrics-listen` every call returns at once.
public enum GatewayMetrics {
    /// Set once, by the first gateway started with `--metrics-listen` in this process.
    static let enabled = Atomic<Bool>(false)
    static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// The protocol a client connection speaks now (it starts as HTTP/1.1 and may switch once).
    enum ConnectionProtocol: String, CaseIterable {
        case http1, spdy, http2, websocket
    }

    // MARK: Connections

    static func connectionOpened(_ proto: ConnectionProtocol) {
        guard isEnabled else { return }
        Handles.shared.connections[proto]?.increment()
    }

    static func connectionSwitched(from old: ConnectionProtocol, to new: ConnectionProtocol) {
        guard isEnabled, old != new else { return }
        Handles.shared.connections[old]?.decrement()
        Handles.shared.connections[new]?.increment()
    }

    static func connectionClosed(_ proto: ConnectionProtocol) {
        guard isEnabled else { return }
        Handles.shared.connections[proto]?.decrement()
    }

    // MARK: Sessions

    /// A bridge started: the request was admitted, negotiated and every channel is open.
    static func sessionStarted(_ request: ExecRequest, context: RequestContext?, backend: String) {
        guard isEnabled else { return }
        let labels = sessionLabels(request, context: context, backend: backend)
        Counter(label: Names.sessionsStarted, dimensions: labels).increment()
        Handles.shared.activeSessions.increment()
        if let context {
            Timer(label: Names.setupSeconds, dimensions: [("generation", labels[0].1)])
                .recordSeconds(max(0, EventLoop.now() - context.received))
        }
    }

    /// A started session ended (its bytes were already added by `SessionByteMeter`).
    static func sessionEnded(_ record: SessionRecord, backend: String) {
        guard isEnabled else { return }
        var labels = sessionLabels(record.request, context: record.context, backend: backend)
        labels.append(("outcome", outcome(of: record.outcome)))
        Counter(label: Names.sessionsEnded, dimensions: labels).increment()
        Handles.shared.activeSessions.decrement()
        if let duration = record.outcome?.duration {
            Timer(label: Names.durationSeconds, dimensions: [("generation", labels[0].1)]).recordSeconds(max(0, duration))
        }
    }

    /// Payload bytes a session moved on `channel` since the last report.
    static func sessionBytes(_ channel: Channel, _ count: Int) {
        guard isEnabled, count > 0 else { return }
        Handles.shared.bytes[channel]?.increment(by: Int64(count))
    }

    /// Any request refused with an HTTP status (exec, attach, discovery, passthrough, command
    /// paths). An exec or attach request also ends as a session with the outcome `refused`.
    static func refused(_ kind: String, status: Int, reason: String, request: ExecRequest?, context: RequestContext,
                        backend: String) {
        guard isEnabled else { return }
        Counter(label: Names.refusals, dimensions: [("kind", kind), ("status", String(status)), ("reason", labelValue(reason))])
            .increment()
        guard let request else { return }
        var labels = sessionLabels(request, context: context, backend: backend)
        labels.append(("outcome", "refused"))
        Counter(label: Names.sessionsEnded, dimensions: labels).increment()
    }

    // MARK: Upstream

    /// An upstream dial that began at `started` (`EventLoop.now()`) ended; `failure` is the
    /// dial error's text, nil when the connection (and its TLS handshake) succeeded.
    public static func upstreamDialed(started: Double, failure: String?) {
        guard isEnabled else { return }
        let result = failure.map(dialFailureKind) ?? "ok"
        Counter(label: Names.upstreamDials, dimensions: [("result", result == "ok" ? "ok" : "error")]).increment()
        if failure != nil {
            Counter(label: Names.upstreamDialErrors, dimensions: [("reason", result)]).increment()
        }
        Timer(label: Names.upstreamDialSeconds, dimensions: [("result", result == "ok" ? "ok" : "error")])
            .recordSeconds(max(0, EventLoop.now() - started))
    }

    // MARK: Configuration

    /// A configuration reload (SIGHUP) ended. For the live-reload code: `ok: false` when a file
    /// did not parse and the old configuration stays.
    public static func configReloaded(ok: Bool) {
        guard isEnabled else { return }
        Counter(label: Names.configReloads, dimensions: [("result", ok ? "ok" : "failed")]).increment()
        Handles.shared.reloadFailing.set(ok ? 0 : 1)
    }

    // MARK: Labels

    static func sessionLabels(_ request: ExecRequest, context: RequestContext?, backend: String) -> [(String, String)] {
        // A port-forward tunnel negotiates no channel version: its sessions are told apart by this one.
        [("generation", generation(request, context: context)),
         ("version", request.kind == .portForward ? "portforward"
                     : request.generation == nil ? "none" : "v\(request.version.rawValue)"),
         ("backend", backend)]
    }

    /// spdy, http2 or websocket; a request refused before its upgrade is named by the upgrade it asked for.
    static func generation(_ request: ExecRequest, context: RequestContext?) -> String {
        switch request.generation {
        case .spdy: return "spdy"
        case .http2: return "http2"
        case .websocket: return "websocket"
        case nil:
            let upgrade = context?.header("upgrade")?.lowercased() ?? ""
            if upgrade.contains("spdy") { return "spdy" }
            if upgrade.contains("websocket") { return "websocket" }
            if upgrade.contains("h2c") { return "http2" }
            return "none"
        }
    }

    static func outcome(of outcome: Bridge.Outcome?) -> String {
        guard let outcome else { return "unknown" }
        switch outcome.reason {
        case .completed:
            switch outcome.status?.exitCode {
            case 0: return "exit_zero"
            case .some: return "exit_nonzero"
            case nil: return "error"
            }
        case .clientGone: return "client_gone"
        case .backendGone: return "backend_gone"
        case .timeout: return "timeout"
        case .shutdown: return "shutdown"
        }
    }

    /// A reason as a label value: a Status reason is one CamelCase word; anything else (a peer's
    /// text) is cut to letters, digits and `_`, 64 at most, so the exposition stays well-formed
    /// and the number of series bounded.
    static func labelValue(_ text: String) -> String {
        let kept = text.utf8.prefix(64).map { byte -> Character in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"): return Character(Unicode.Scalar(byte))
            default: return "_"
            }
        }
        return kept.isEmpty ? "unknown" : String(kept)
    }

    static func dialFailureKind(_ detail: String) -> String {
        if detail.hasPrefix("tls:") { return "tls" }
        if detail.hasSuffix("i/o timeout") { return "timeout" }
        if detail.contains("refused") { return "refused" }
        return "connect"
    }
}

extension GatewayMetrics {
    /// The `backend` label: the embedded local backend, or one upstream exec server.
    static func backendKind(_ backend: Backend) -> String {
        backend.auditKind == "local" ? "local" : "upstream"
    }
}
