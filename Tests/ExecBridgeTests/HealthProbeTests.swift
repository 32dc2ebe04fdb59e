@testable import ExecBridge
import XCTest

/// The probe check the front doors make before routing: exact paths, any query, nothing else.
final class HealthProbeTests: XCTestCase {
    func testProbePathsAreAnsweredWithAnyQuery() {
        for target in ["/healthz", "/readyz", "/livez", "/healthz?verbose", "/livez?", "/readyz?a=1&b=2"] {
            XCTAssertTrue(HealthHandler.answers(target: target), target)
        }
    }

    func testOtherTargetsAreNot() {
        for target in ["", "/", "?", "/healthz/", "/healthzz", "/Healthz", "healthz", "/health", "//healthz",
                       "/healthz#x", "/api/v1/namespaces/ns/pods/p/exec?command=true&stdout=1", "/héalthz"] {
            XCTAssertFalse(HealthHandler.answers(target: target), target)
        }
    }
}
