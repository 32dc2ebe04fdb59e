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
