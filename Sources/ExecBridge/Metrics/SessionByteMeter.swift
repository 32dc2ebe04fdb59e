import ExecModel
import Reactor

/// Adds the bytes of one worker's sessions to the metrics without a metric call per frame: the
/// bridge already counts payload bytes per channel; this reports the growth of those counts
/// once a second while sessions run, and the rest when each one ends. Loop-confined.
final class SessionByteMeter {
    private struct Live {
        weak var bridge: Bridge?
        var reported: [Channel: Int] = [:]
    }

    static let flushInterval = 1.0
    private let loop: EventLoop
    private var live: [ObjectIdentifier: Live] = [:]
    private var timer: LoopTimer?

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Before `bridge.start`: a backend that fails at once ends the session inside it.
    func started(_ bridge: Bridge, backend: String) {
        guard GatewayMetrics.isEnabled else { return }
        GatewayMetrics.sessionStarted(bridge.request, context: bridge.context, backend: backend)
        live[ObjectIdentifier(bridge)] = Live(bridge: bridge)
        if timer == nil {
            timer = LoopTimer(loop: loop, after: Self.flushInterval, repeats: true) { [weak self] in self?.flush() }
        }
    }

    func ended(_ bridge: Bridge, record: SessionRecord, backend: String) {
        guard GatewayMetrics.isEnabled, let entry = live.removeValue(forKey: ObjectIdentifier(bridge)) else { return }
        report(record.bytes, since: entry.reported)
        GatewayMetrics.sessionEnded(record, backend: backend)
        if live.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }

    private func flush() {
        for (key, entry) in live {
            guard let bridge = entry.bridge else {
                live[key] = nil
                continue
            }
            let bytes = bridge.bytes
            report(bytes, since: entry.reported)
            live[key]?.reported = bytes
        }
    }

    private func report(_ bytes: [Channel: Int], since reported: [Channel: Int]) {
        for (channel, count) in bytes {
            GatewayMetrics.sessionBytes(channel, count - reported[channel, default: 0])
        }
    }
}
