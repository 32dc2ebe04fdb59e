@testable import ExecBridge
import Foundation
import Glibc
import XCTest

/// `--metrics-listen` follows exec's rule: loopback serves anyone on the machine; any other
/// address needs `--token-file`/`--client-ca` and a credential on every scrape.
final class MetricsAccessTests: XCTestCase {
    private func options(metrics: String, _ configure: (inout SecuritySettings) -> Void = { _ in }) -> ServeOptions {
        var security = SecuritySettings()
        configure(&security)
        var options = ServeOptions(listen: ["127.0.0.1:8080"], threads: 1, backend: BackendSettings(), security: security,
                                   tlsCert: nil, tlsKey: nil, logFormat: "text", logLevel: "info", channelBudget: 256 * 1024,
                                   streamCreationTimeout: 30, idleTimeout: 60, headTimeout: 10, drainTimeout: 5)
        options.metricsListen = metrics
        return options
    }

    private func tokenFile() throws -> String {
        let path = NSTemporaryDirectory() + "execbridge-metrics-tokens-\(getpid())-\(UUID().uuidString.prefix(8)).csv"
        try "prom-scrape-t0ken-1,prometheus,10,\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testPublicMetricsAddressWithoutAuthenticationRefusesToStart() throws {
        for listen in ["0.0.0.0:9100", "[::]:9100"] {
            XCTAssertThrowsError(try ServeMain.makeConfig(options(metrics: listen), logger: LogCapture().logger), listen) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("refusing --metrics-listen \(listen) without authentication"), text)
                XCTAssertTrue(text.contains("--token-file") && text.contains("--client-ca"), text)
            }
        }
        XCTAssertThrowsError(try ServeMain.makeConfig(options(metrics: "127.0.0.1"), logger: LogCapture().logger)) { error in
            XCTAssertEqual("\(error)", "--metrics-listen 127.0.0.1: not a HOST:PORT address (e.g. 127.0.0.1:9100)")
        }
    }

    func testLoopbackOrAuthenticatedMetricsAddressesStart() throws {
        let loopback = try ServeMain.makeConfig(options(metrics: "127.0.0.1:9100"), logger: LogCapture().logger)
        XCTAssertEqual(loopback.metrics?.anonymous, true)
        let tokens = try tokenFile()
        defer { unlink(tokens) }
        let exposed = try ServeMain.makeConfig(options(metrics: "0.0.0.0:9100") { $0.tokenFile = tokens }, logger: LogCapture().logger)
        XCTAssertEqual(exposed.metrics?.anonymous, false)
    }

    func testASecondGatewayOnTheSameMetricsAddressRefusesToStart() throws {
        let first = try GatewayHarness.withMetrics()
        let taken = "127.0.0.1:\(first.metricsPort)"
        XCTAssertThrowsError(try GatewayHarness.withMetrics(metricsListen: taken)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("already listens on \(taken)"), text)
            XCTAssertTrue(text.contains("another --metrics-listen address"), text)
        }
        // The first one still answers.
        XCTAssertEqual(try MetricsScrape.get(port: first.metricsPort).status, 200)
    }

    /// A page the operator's browser loaded from attacker.example, which then rebinds that name to
    /// 127.0.0.1, reads the anonymous loopback listener as same-origin: the Host gives it away.
    func testAnAnonymousLoopbackListenerRefusesBrowserAndRebindingScrapes() throws {
        var security = SecuritySettings()
        security.allowHosts = ["metrics.internal"]
        let harness = try GatewayHarness.withMetrics(security: security)
        XCTAssertEqual(try MetricsScrape.get(port: harness.metricsPort).status, 200)
        XCTAssertEqual(try MetricsScrape.get(port: harness.metricsPort, host: "localhost:9100").status, 200)
        XCTAssertEqual(try MetricsScrape.get(port: harness.metricsPort, host: "metrics.internal").status, 200)
        let rebound = try MetricsScrape.get(port: harness.metricsPort, host: "attacker.example:\(harness.metricsPort)")
        XCTAssertEqual(rebound.status, 403)
        XCTAssertTrue(rebound.body.contains("not a loopback name"), rebound.body)
        XCTAssertFalse(rebound.body.contains("execbridge_"))
        let crossSite = try MetricsScrape.get(port: harness.metricsPort, headers: ["Sec-Fetch-Site: cross-site"])
        XCTAssertEqual(crossSite.status, 403)
        let foreignPage = try MetricsScrape.get(port: harness.metricsPort, headers: ["Origin: http://attacker.example"])
        XCTAssertEqual(foreignPage.status, 403)
    }

    /// A draining replica is the one an operator watches: its metrics answer until it stops.
    func testMetricsAnswerWhileTheGatewayDrainsAndCloseWhenItStops() throws {
        let harness = try GatewayHarness.withMetrics { $0.drainDelay = 600 }
        harness.gateway.shutdown()
        let deadline = Date().addingTimeInterval(10)
        while try MetricsScrape.get(port: harness.port, path: "/readyz", host: "127.0.0.1").status != 503, Date() < deadline {
            usleep(20_000)
        }
        let during = try MetricsScrape.get(port: harness.metricsPort)
        XCTAssertEqual(during.status, 200)
        XCTAssertEqual(during.types["execbridge_sessions_active"], "gauge")
        harness.gateway.shutdown()  // a second signal ends the delay: nothing runs, so the gateway stops
        harness.gateway.wait()
        XCTAssertNil(try? RawSocket(port: harness.metricsPort, timeout: 1), "the metrics listener outlived the gateway")
    }

    func testAPublicMetricsListenerWantsABearerTokenOnEveryScrape() throws {
        let tokens = try tokenFile()
        defer { unlink(tokens) }
        var security = SecuritySettings()
        security.tokenFile = tokens
        let harness = try GatewayHarness.withMetrics(security: security, metricsListen: "0.0.0.0:0")
        let none = try MetricsScrape.get(port: harness.metricsPort)
        XCTAssertEqual(none.status, 401)
        XCTAssertTrue(none.body.contains("\"reason\":\"Unauthorized\""), none.body)
        XCTAssertFalse(none.body.contains("execbridge_"))
        let wrong = try MetricsScrape.get(port: harness.metricsPort, headers: ["Authorization: Bearer not-the-t0ken"])
        XCTAssertEqual(wrong.status, 401)
        let right = try MetricsScrape.get(port: harness.metricsPort, headers: ["Authorization: Bearer prom-scrape-t0ken-1"])
        XCTAssertEqual(right.status, 200)
        XCTAssertEqual(right.types["execbridge_sessions_active"], "gauge")
    }
}

/// Label values and figures that come from outside (a reason, /proc) in unit form.
final class MetricsLabelTests: XCTestCase {
    func testReasonsBecomeBoundedLabelValues() {
        XCTAssertEqual(GatewayMetrics.labelValue("Forbidden"), "Forbidden")
        XCTAssertEqual(GatewayMetrics.labelValue("a \"quoted\"\nreason"), "a__quoted__reason")
        XCTAssertEqual(GatewayMetrics.labelValue(""), "unknown")
        XCTAssertEqual(GatewayMetrics.labelValue(String(repeating: "x", count: 500)).count, 64)
    }

    func testDialFailuresByKind() {
        XCTAssertEqual(GatewayMetrics.dialFailureKind("dial tcp 127.0.0.1:1: connect: connection refused"), "refused")
        XCTAssertEqual(GatewayMetrics.dialFailureKind("dial tcp 10.0.0.1:443: i/o timeout"), "timeout")
        XCTAssertEqual(GatewayMetrics.dialFailureKind("tls: handshake with x failed (certificate not trusted, name mismatch or no common protocol)"), "tls")
        XCTAssertEqual(GatewayMetrics.dialFailureKind("dial tcp 1.2.3.4:5: connect: network is unreachable"), "connect")
    }

    func testResidentMemoryFromProcStatus() {
        let status = "Name:\texecbridge\nVmPeak:\t  999 kB\nVmRSS:\t    2048 kB\nThreads:\t3\n"
        XCTAssertEqual(ProcessFigures.residentBytes(status: status), 2048 * 1024)
        XCTAssertNil(ProcessFigures.residentBytes(status: "Name:\tx\n"))
        XCTAssertNotNil(ProcessFigures.read().residentBytes)
        XCTAssertGreaterThan(ProcessFigures.read().openFds ?? 0, 2)
    }
}

/// SIGHUP reloads show in the metrics: a good file counts `ok`, a broken one `failed` and sets
/// the failing gauge until a reload succeeds again.
final class MetricsReloadTests: XCTestCase {
    func testReloadsAreCountedAndAFailedOneRaisesTheGauge() throws {
        let path = NSTemporaryDirectory() + "execbridge-metrics-reload-\(getpid())-\(UUID().uuidString.prefix(8)).csv"
        try "reload-t0ken-1,alice,1,\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        var security = SecuritySettings()
        security.tokenFile = path
        let harness = try GatewayHarness.withMetrics(security: security) { $0.reloadFiles.tokenFile = path }
        let ok = "execbridge_config_reloads_total{result=\"ok\"}"
        let failed = "execbridge_config_reloads_total{result=\"failed\"}"
        let before = try MetricsScrape.get(port: harness.metricsPort)

        try "not,a\"valid csv\n".write(toFile: path, atomically: true, encoding: .utf8)
        harness.gateway.reload()
        let broken = try waitFor(harness) { $0[failed] > before[failed] }
        XCTAssertEqual(broken[failed] - before[failed], 1)
        XCTAssertEqual(broken[ok], before[ok])
        XCTAssertEqual(broken["execbridge_config_reload_failing"], 1)

        try "reload-t0ken-2,alice,1,\n".write(toFile: path, atomically: true, encoding: .utf8)
        harness.gateway.reload()
        let fixed = try waitFor(harness) { $0[ok] > before[ok] }
        XCTAssertEqual(fixed[ok] - before[ok], 1)
        XCTAssertEqual(fixed["execbridge_config_reload_failing"], 0)
    }

    /// Reloads run on a thread of their own: poll the scrape until `done`, 10 s at most.
    private func waitFor(_ harness: GatewayHarness, _ done: (MetricsScrape) -> Bool,
                         file: StaticString = #filePath, line: UInt = #line) throws -> MetricsScrape {
        let deadline = Date().addingTimeInterval(10)
        var last = try MetricsScrape.get(port: harness.metricsPort)
        while !done(last), Date() < deadline {
            usleep(20_000)
            last = try MetricsScrape.get(port: harness.metricsPort)
        }
        XCTAssertTrue(done(last), last.body, file: file, line: line)
        return last
    }
}
