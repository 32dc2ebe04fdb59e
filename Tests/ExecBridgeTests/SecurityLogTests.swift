@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// Tokens never reach a log or the audit record, whatever happens to them.
final class SecurityLogTests: XCTestCase {
    func testNoTokenInLogsOrAudit() throws {
        let unknown = "unknown-Tok3n-7d3e9a1b5c"
        let gateway = try SecureGateway(tokens: securityTokens, inventory: privilegedInventory)
        let path = SessionCases.path(["sh", "-c", "echo hello"], form: "/proxy/nodes/n1/exec/default/web/app")
        let debug = SecurityPrivilegedTests.path("web", "debug")
        var sessions = 0
        for wire in SecurityWire.plain {
            for token in [aliceToken, rootToken, unknown] {
                for target in [path, debug] {
                    _ = try SecurityRun.run(wire, port: gateway.port, path: target, headers: [("Authorization", "Bearer \(token)")])
                    sessions += 1
                }
            }
        }
        // A broken reload must not echo lines either.
        try gateway.writeTokens(securityTokens + "\(unknown)-broken-line\n")
        _ = try SecurityRun.run(.spdy, port: gateway.port, path: path, headers: [("Authorization", "Bearer \(aliceToken)")])
        sessions += 1
        _ = gateway.auditLines(atLeast: sessions)
        let logs = gateway.logs.text
        XCTAssertTrue(logs.contains("rejected an unknown bearer token"), logs)
        XCTAssertTrue(logs.contains("exec denied"), logs)
        XCTAssertTrue(logs.contains("token file not reloaded"), logs)
        for token in [aliceToken, rootToken, unknown, "Tok3n"] {
            XCTAssertFalse(logs.contains(token), "a token in the log")
            XCTAssertFalse(gateway.auditText.contains(token), "a token in the audit log")
        }
    }
}
