@testable import ExecBridge
import Foundation
import XCTest
import Yams

/// deploy/grafana/execbridge-dashboard.json and deploy/prometheus/execbridge-alerts.yml name
/// only metrics the gateway exports (a renamed metric must not leave an empty panel or an alert
/// that can never fire).
final class MetricsDeployFilesTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `execbridge_…` names in a PromQL expression, each with whether the gateway exports it
    /// (a histogram's `_bucket`, `_sum` and `_count` series included).
    static func metricNames(in expr: String) -> [(name: String, exported: Bool)] {
        let regex = try! NSRegularExpression(pattern: "execbridge_[a-z0-9_]+")
        let range = NSRange(expr.startIndex..., in: expr)
        return regex.matches(in: expr, range: range).map { match in
            let name = String(expr[Range(match.range, in: expr)!])
            if Names.all[name] != nil { return (name, true) }
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                if Names.all[String(name.dropLast(suffix.count))] == "histogram" { return (name, true) }
            }
            return (name, false)
        }
    }

    func testEveryDashboardPanelQueriesExportedMetrics() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("deploy/grafana/execbridge-dashboard.json"))
        let dashboard = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try XCTUnwrap(dashboard["panels"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(panels.count, 10)
        var shown = Set<String>()
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let targets = try XCTUnwrap(panel["targets"] as? [[String: Any]], title)
            XCTAssertFalse(targets.isEmpty, title)
            for target in targets {
                let expr = try XCTUnwrap(target["expr"] as? String, title)
                let names = Self.metricNames(in: expr)
                XCTAssertFalse(names.isEmpty, "\(title): \(expr) names no gateway metric")
                for (name, exported) in names {
                    XCTAssertTrue(exported, "\(title): \(name) is not exported")
                    shown.insert(name)
                }
            }
        }
        // The main metrics each have a panel.
        for name in [Names.sessionsActive, Names.sessionsStarted, Names.sessionsEnded, Names.refusals, Names.bytes,
                     Names.connectionsOpen, Names.upstreamDials, Names.residentMemory, Names.openFds] {
            XCTAssertTrue(shown.contains(name), "no panel shows \(name)")
        }
    }

    func testEveryAlertRuleWatchesExportedMetrics() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/prometheus/execbridge-alerts.yml"),
                              encoding: .utf8)
        let document = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        let groups = try XCTUnwrap(document["groups"] as? [[String: Any]])
        var alerts = 0
        for group in groups {
            for rule in try XCTUnwrap(group["rules"] as? [[String: Any]]) {
                let name = try XCTUnwrap(rule["alert"] as? String)
                let expr = try XCTUnwrap(rule["expr"] as? String, name)
                XCTAssertNotNil((rule["annotations"] as? [String: Any])?["summary"], name)
                XCTAssertNotNil((rule["labels"] as? [String: Any])?["severity"], name)
                let names = Self.metricNames(in: expr)
                // Prometheus' own `up` is the only other series an alert may watch.
                XCTAssertTrue(!names.isEmpty || expr.hasPrefix("up{"), "\(name): \(expr) watches no gateway metric")
                for (metric, exported) in names { XCTAssertTrue(exported, "\(name): \(metric) is not exported") }
                alerts += 1
            }
        }
        XCTAssertGreaterThanOrEqual(alerts, 5)
    }
}
