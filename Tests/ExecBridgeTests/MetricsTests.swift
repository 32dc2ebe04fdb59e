@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import Reactor
import XCTest

/// `--metrics-listen`: what a scrape shows moves by exactly what ran, on every generation.
final class MetricsTests: XCTestCase {
    private static let policy = """
    rules:
      - users: ["system:anonymous"]
        namespaces: [default]
    """

    private func anonymousPolicy() throws -> (SecuritySettings, String) {
        let path = NSTemporaryDirectory() + "execbridge-metrics-policy-\(getpid())-\(UUID().uuidString.prefix(8)).yaml"
        try Self.policy.write(toFile: path, atomically: true, encoding: .utf8)
        var settings = SecuritySettings()
        settings.policyFile = path
        return (settings, path)
    }

    /// Polls until `done` holds for a scrape (sessions end on the gateway's thread after the
    /// client saw the status), or fails at the deadline with the last scrape.
    private func scrape(_ harness: GatewayHarness, until done: (MetricsScrape) -> Bool,
                        file: StaticString = #filePath, line: UInt = #line) throws -> MetricsScrape {
        let deadline = EventLoop.now() + 15
        var last = try MetricsScrape.get(port: harness.metricsPort)
        while !done(last) && EventLoop.now() < deadline {
            usleep(20_000)
            last = try MetricsScrape.get(port: harness.metricsPort)
        }
        XCTAssertTrue(done(last), "metrics never settled:\n\(last.body)", file: file, line: line)
        return last
    }

    func testSessionsOfEveryGenerationMoveTheCountersByExactlyWhatRan() throws {
        let (security, policyPath) = try anonymousPolicy()
        defer { unlink(policyPath) }
        let harness = try GatewayHarness.withMetrics(security: security)
        let before = try MetricsScrape.get(port: harness.metricsPort)
        XCTAssertEqual(before.status, 200)
        XCTAssertTrue(before.head.lowercased().contains("content-type: text/plain; version=0.0.4"), before.head)

        // SPDY: exit 0 with 6 bytes of stdout.
        let ok = SessionCases(.spdy, harness: harness).run(["sh", "-c", "echo hello"])
        XCTAssertEqual(ok.status, .success)
        // HTTP/2: exit 3 with 3 bytes of stdout.
        let three = SessionCases(.h2Prior, harness: harness).run(["sh", "-c", "printf abc; exit 3"])
        XCTAssertEqual(three.status?.exitCode, 3)
        // WebSocket v5: 4 bytes of stdin echoed back.
        let echoed = SessionCases(.ws([.v5]), harness: harness).run(["cat"], flags: "input=1&output=1",
                                                                    stdin: Array("xyz\n".utf8))
        XCTAssertEqual(echoed.status, .success)
        XCTAssertEqual(echoed.stdout, Array("xyz\n".utf8))
        // Refused by the policy: another namespace.
        let refused = ExecRun().run(.spdy, port: harness.port,
                                    path: SessionCases.path(["true"], form: "/proxy/nodes/n1/exec/other/web/app"))
        XCTAssertEqual(refused.status?.exitCode, nil)
        // The client goes away mid-session (HTTP/2 by h2c upgrade).
        SessionCases(.h2Upgrade, harness: harness).clientKilledLeavesNoProcess()

        let clientGone = "execbridge_sessions_ended_total{generation=\"http2\",version=\"v4\",backend=\"local\",outcome=\"client_gone\"}"
        let after = try scrape(harness) { $0[clientGone] > before[clientGone] && $0["execbridge_sessions_active"] == 0 }
        let moved = after.delta(since: before)
        let counters = moved.filter { $0.key.hasPrefix("execbridge_sessions_") || $0.key.hasPrefix("execbridge_refusals_")
            || $0.key.hasPrefix("execbridge_session_bytes_") }
        XCTAssertEqual(counters, [
            "execbridge_sessions_started_total{generation=\"spdy\",version=\"v4\",backend=\"local\"}": 1,
            "execbridge_sessions_started_total{generation=\"http2\",version=\"v4\",backend=\"local\"}": 2,
            "execbridge_sessions_started_total{generation=\"websocket\",version=\"v5\",backend=\"local\"}": 1,
            "execbridge_sessions_ended_total{generation=\"spdy\",version=\"v4\",backend=\"local\",outcome=\"exit_zero\"}": 1,
            "execbridge_sessions_ended_total{generation=\"http2\",version=\"v4\",backend=\"local\",outcome=\"exit_nonzero\"}": 1,
            "execbridge_sessions_ended_total{generation=\"websocket\",version=\"v5\",backend=\"local\",outcome=\"exit_zero\"}": 1,
            clientGone: 1,
            "execbridge_sessions_ended_total{generation=\"spdy\",version=\"none\",backend=\"local\",outcome=\"refused\"}": 1,
            "execbridge_refusals_total{kind=\"exec\",status=\"403\",reason=\"Forbidden\"}": 1,
            "execbridge_session_bytes_total{channel=\"stdout\",direction=\"out\"}": 6 + 3 + 4,
            "execbridge_session_bytes_total{channel=\"stdin\",direction=\"in\"}": 4,
        ], "\(moved)")
        XCTAssertEqual(after["execbridge_sessions_active"], 0)
        // Every family the gateway declares shows, with its type (the upstream ones need an upstream).
        for (name, type) in Names.all where !name.hasPrefix("execbridge_upstream_") {
            XCTAssertEqual(after.types[name], type, name)
        }
        for generation in ["spdy": 1.0, "http2": 2, "websocket": 1] {
            for histogram in ["execbridge_session_duration_seconds", "execbridge_session_setup_seconds"] {
                XCTAssertEqual(moved["\(histogram)_count{generation=\"\(generation.key)\"}"], generation.value, histogram)
            }
        }
        // Every connection closed again, whatever protocol it ended with.
        let closed = try scrape(harness) { scrape in
            ["http1", "spdy", "http2", "websocket"].allSatisfy { scrape["execbridge_connections_open{protocol=\"\($0)\"}"] == 0 }
        }
        XCTAssertGreaterThan(closed["execbridge_process_resident_memory_bytes"], 1_000_000)
        XCTAssertGreaterThan(closed["execbridge_process_open_fds"], 2)
    }

    func testLiveSessionsShowAsActiveWithTheirConnectionsAndBytesBeforeTheyEnd() throws {
        let harness = try GatewayHarness.withMetrics()
        let before = try MetricsScrape.get(port: harness.metricsPort)
        let stdin = randomBytes(100_000)
        let run = ExecRun(stdin: stdin, closeStdin: false)
        var during: MetricsScrape?
        // Scraped from the client's loop while the session runs: stdin all sent, the command still alive.
        run.onTick = { r in
            guard during == nil, let now = try? MetricsScrape.get(port: harness.metricsPort),
                  now["execbridge_session_bytes_total{channel=\"stdin\",direction=\"in\"}"]
                    - before["execbridge_session_bytes_total{channel=\"stdin\",direction=\"in\"}"] == Double(stdin.count)
            else { return }
            during = now
            r.kill()
        }
        run.run(.ws([.v5]), port: harness.port, path: SessionCases.path(["sh", "-c", "cat >/dev/null; sleep 30"], "input=1&output=1"),
                timeout: 20)
        let live = try XCTUnwrap(during, "stdin never showed in the metrics while the session ran")
        XCTAssertEqual(live["execbridge_sessions_active"], 1)
        XCTAssertEqual(live["execbridge_connections_open{protocol=\"websocket\"}"], 1)
        let ended = try scrape(harness) { $0["execbridge_sessions_active"] == 0 && $0["execbridge_connections_open{protocol=\"websocket\"}"] == 0 }
        XCTAssertEqual(ended["execbridge_session_bytes_total{channel=\"stdin\",direction=\"in\"}"]
                        - before["execbridge_session_bytes_total{channel=\"stdin\",direction=\"in\"}"], Double(stdin.count))
    }

    func testOnlyMetricsIsServedOnTheMetricsListener() throws {
        let harness = try GatewayHarness.withMetrics()
        XCTAssertEqual(try MetricsScrape.get(port: harness.metricsPort, path: "/healthz").status, 404)
        XCTAssertEqual(try MetricsScrape.get(port: harness.metricsPort, path: "/exec/default/web/app?command=true").status, 404)
        XCTAssertEqual(try MetricsScrape.get(port: harness.metricsPort, path: "/metrics?x=1").status, 200)
        // And the exec listener does not serve the metrics.
        XCTAssertEqual(try MetricsScrape.get(port: harness.port).status, 404)
    }

    func testASessionThroughAnUpstreamCountsItsDialAndBothBackends() throws {
        let metrics = try GatewayHarness.withMetrics()
        // Both gateways are in this process: the metrics (process-wide) see the front gateway's
        // upstream session and the upstream gateway's local one. The h2c pool dials its first
        // connection ahead, as the gateway starts: that is the one dial the session costs.
        let before = try MetricsScrape.get(port: metrics.metricsPort)
        let pair = try UpstreamPair(.h2c)
        let r = ExecRun().run(.ws([.v5]), port: pair.gateway.port, path: SessionCases.path(["sh", "-c", "printf upstream"]))
        XCTAssertEqual(r.status, .success)
        XCTAssertEqual(r.stdout, Array("upstream".utf8))
        let front = "execbridge_sessions_ended_total{generation=\"websocket\",version=\"v5\",backend=\"upstream\",outcome=\"exit_zero\"}"
        let back = "execbridge_sessions_ended_total{generation=\"http2\",version=\"v5\",backend=\"local\",outcome=\"exit_zero\"}"
        let after = try scrape(metrics) { $0[front] > before[front] && $0[back] > before[back] && $0["execbridge_sessions_active"] == 0 }
        let moved = after.delta(since: before)
        XCTAssertEqual(moved[front], 1, "\(moved)")
        XCTAssertEqual(moved[back], 1, "\(moved)")
        XCTAssertEqual(moved["execbridge_upstream_dials_total{result=\"ok\"}"], 1)
        XCTAssertEqual(moved["execbridge_upstream_dial_seconds_count{result=\"ok\"}"], 1)
        XCTAssertNil(moved["execbridge_upstream_dials_total{result=\"error\"}"])
        // "upstream" went out on stdout twice: to the front gateway, and from it to the client.
        XCTAssertEqual(moved["execbridge_session_bytes_total{channel=\"stdout\",direction=\"out\"}"], 16)
    }

    func testUpstreamDialsAndDialErrorsAreCounted() throws {
        let harness = try GatewayHarness.withMetrics()
        let upstream = try gatewayWithBackend("spdy://127.0.0.1:\(closedPort())")
        _ = upstream
        // The metrics are process-wide: the failing upstream gateway's dials show on this listener.
        let before = try MetricsScrape.get(port: harness.metricsPort)
        let r = ExecRun().run(.spdy, port: upstream.port, path: SessionCases.path(["true"]))
        XCTAssertEqual(r.status?.exitCode, nil)
        let after = try scrape(harness) { $0["execbridge_upstream_dial_errors_total{reason=\"refused\"}"] > before["execbridge_upstream_dial_errors_total{reason=\"refused\"}"] }
        let moved = after.delta(since: before)
        XCTAssertEqual(moved["execbridge_upstream_dials_total{result=\"error\"}"], 1)
        for (name, type) in Names.all where name.hasPrefix("execbridge_upstream_") {
            XCTAssertEqual(after.types[name], type, name)
        }
        XCTAssertEqual(moved["execbridge_upstream_dial_errors_total{reason=\"refused\"}"], 1)
        XCTAssertEqual(moved["execbridge_upstream_dial_seconds_count{result=\"error\"}"], 1)
        XCTAssertEqual(moved["execbridge_sessions_ended_total{generation=\"spdy\",version=\"v4\",backend=\"upstream\",outcome=\"error\"}"], 1,
                       "\(moved)")
    }
}
