@testable import ExecBridge
import ExecModel
import XCTest

/// Admitted requests that never became sessions are audited too.
final class SecurityAuditNotStartedTests: XCTestCase {
    func testFailedNegotiationIsAudited() throws {
        let gateway = try SecureGateway()
        let socket = try RawSocket(port: gateway.port)
        socket.send("POST \(SessionCases.path(["date"])) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    + "X-Stream-Protocol-Version: v9.channel.k8s.io\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 403)
        let line = try XCTUnwrap(gateway.auditLines(atLeast: 1).first)
        XCTAssertEqual(line["end"] as? String, "denied")
        XCTAssertEqual(line["code"] as? Int, 403, "\(line)")
    }
}
