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
