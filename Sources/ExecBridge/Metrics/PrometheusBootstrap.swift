import ExecModel
import Metrics
import Prometheus

/// swift-metrics bootstrapped once per process onto a Prometheus registry (the metrics system
/// is global: a second bootstrap is a crash), and the handles the hot paths keep.
final class Handles: Sendable {
    static let shared = Handles()

    let registry: PrometheusCollectorRegistry
    let activeSessions: MetricMeter
    let connections: [GatewayMetrics.ConnectionProtocol: MetricMeter]
    /// `direction`: `in` is what the client sent to the command, `out` what the command sent back.
    let bytes: [Channel: MetricCounter]
    let reloadFailing: MetricMeter
    let residentMemory: MetricMeter
    let openFds: MetricMeter

    private init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Sessions last from a second to hours; set-up and dials take milliseconds.
        let quick: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                 .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                 .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30)]
        factory.durationHistogramBuckets = [
            Names.durationSeconds: [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10),
                                    .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
                                    .seconds(4 * 3600), .seconds(24 * 3600)],
            Names.setupSeconds: quick,
            Names.upstreamDialSeconds: quick,
        ]
        MetricsSystem.bootstrap(factory)
        activeSessions = MetricMeter(label: Names.sessionsActive)
        var connections: [GatewayMetrics.ConnectionProtocol: MetricMeter] = [:]
        for proto in GatewayMetrics.ConnectionProtocol.allCases {
            connections[proto] = MetricMeter(label: Names.connectionsOpen, dimensions: [("protocol", proto.rawValue)])
        }
        self.connections = connections
        var bytes: [Channel: MetricCounter] = [:]
        for channel in Channel.allCases {
            let direction = channel == .stdin || channel == .resize ? "in" : "out"
            bytes[channel] = MetricCounter(label: Names.bytes, dimensions: [("channel", channel.streamType), ("direction", direction)])
        }
        self.bytes = bytes
        reloadFailing = MetricMeter(label: Names.reloadFailing)
        residentMemory = MetricMeter(label: Names.residentMemory)
        openFds = MetricMeter(label: Names.openFds)
        // Present from the first scrape, so that dashboards and rate() see a zero, not a gap.
        for generation in ["spdy", "http2", "websocket"] {
            _ = MetricTimer(label: Names.setupSeconds, dimensions: [("generation", generation)])
            _ = MetricTimer(label: Names.durationSeconds, dimensions: [("generation", generation)])
        }
        _ = MetricCounter(label: Names.refusals, dimensions: [("kind", "exec"), ("status", "403"), ("reason", "Forbidden")])
        for result in ["ok", "failed"] { _ = MetricCounter(label: Names.configReloads, dimensions: [("result", result)]) }
    }

    /// The text of `/metrics`, with the process figures read now.
    func scrape() -> [UInt8] {
        let process = ProcessFigures.read()
        if let rss = process.residentBytes { residentMemory.set(rss) }
        if let fds = process.openFds { openFds.set(fds) }
        return registry.emitToBuffer()
    }
}

extension GatewayMetrics {
    /// Turns reporting on for the whole process (idempotent).
    static func enable() {
        _ = Handles.shared
        enabled.store(true, ordering: .relaxed)
    }

    /// `/metrics` as text: what a scrape would get now (tests, and the listener).
    public static func exposition() -> String {
        String(decoding: Handles.shared.scrape(), as: UTF8.self)
    }
}
