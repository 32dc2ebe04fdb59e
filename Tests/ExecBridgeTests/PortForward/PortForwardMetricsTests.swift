@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// Every tunnel is a session in the metrics, told apart from exec by its version label.
final class PortForwardMetricsTests: XCTestCase {
    func testEachTunnelIsASessionLabelledPortforward() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let inventory = try Inventory(yaml: PortForwardFixtures.inventory(podPorts: [pod.port]))
        var failure: Error?
        let harness = try GatewayHarness(configure: { config in
            do { try config.serveMetrics(on: "127.0.0.1:0", security: SecuritySettings()) } catch { failure = error }
        }, backend: { _ in LocalBackend(inventory: inventory) })
        if let failure { throw failure }
        let before = try MetricsScrape.get(port: harness.metricsPort)
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        let echoed = try client.open(port: pod.port, requestID: "1")
        try client.send(Array("hello".utf8), on: echoed.data, fin: true)
        let unlisted = try client.open(port: closedPort(), requestID: "2")
        XCTAssertTrue(client.pump { client.ended(echoed) && client.ended(unlisted) })

        let started = "execbridge_sessions_started_total{generation=\"spdy\",version=\"portforward\",backend=\"local\"}"
        let deadline = EventLoop.now() + 15
        var after = try MetricsScrape.get(port: harness.metricsPort)
        while (after[started] - before[started] < 2 || after["execbridge_sessions_active"] != 0), EventLoop.now() < deadline {
            usleep(20_000)
            after = try MetricsScrape.get(port: harness.metricsPort)
        }
        let moved = after.delta(since: before)
        XCTAssertEqual(moved[started], 2, "\(moved)")
        XCTAssertEqual(moved["execbridge_session_bytes_total{channel=\"stdin\",direction=\"in\"}"], 5, "\(moved)")
        XCTAssertEqual(moved["execbridge_session_bytes_total{channel=\"stdout\",direction=\"out\"}"], 5, "\(moved)")
        XCTAssertEqual(after["execbridge_sessions_active"], 0)
    }
}
