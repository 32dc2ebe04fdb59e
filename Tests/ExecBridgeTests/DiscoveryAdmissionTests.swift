import Foundation
@testable import ExecBridge
import ExecModel
import XCTest

/// Issue 12: discovery is admitted exactly as exec is — an identity when identities are
/// configured, only the pods a caller may exec into under a policy — and audited when refused.
final class DiscoveryAdmissionTests: XCTestCase {
    private func get(_ gateway: SecureGateway, _ target: String, token: String? = nil, method: String = "GET")
        -> (status: Int, body: String) {
        guard let socket = try? RawSocket(port: gateway.port) else { XCTFail("connect"); return (0, "") }
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        socket.send("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\n\(auth)Connection: close\r\n\r\n")
        guard let response = socket.readResponse() else { XCTFail("no response"); return (0, "") }
        return (response.status, response.body)
    }

    private func names(_ body: String) -> [String] {
        (try? JSONValue.parse(Array(body.utf8)))?["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } ?? []
    }

    func testAnonymousDiscoveryIsRefusedWithATokenFile() throws {
        let gateway = try SecureGateway(tokens: securityTokens, inventory: policyInventory, discovery: true)
        for target in ["/api/v1/namespaces/default/pods", "/api/v1/pods", "/api/v1/namespaces/team-a/pods/api", "/version", "/api"] {
            let anonymous = get(gateway, target)
            XCTAssertEqual(anonymous.status, 401, target)
            XCTAssertFalse(anonymous.body.contains("web-1"), anonymous.body)
        }
        XCTAssertEqual(get(gateway, "/api/v1/pods", token: "\(aliceToken)-wrong").status, 401)
        let lines = gateway.auditLines(atLeast: 6)
        XCTAssertEqual(lines.first?["kind"] as? String, "discovery")
        XCTAssertEqual(lines.first?["code"] as? Int, 401)
        XCTAssertEqual(lines.first?["path"] as? String, "/api/v1/namespaces/default/pods")

        let alice = get(gateway, "/api/v1/pods", token: aliceToken)
        XCTAssertEqual(alice.status, 200)
        XCTAssertEqual(names(alice.body), ["api", "web-1", "x"])
        XCTAssertEqual(get(gateway, "/healthz").status, 200)
    }

    func testAPolicyShowsOnlyWhatTheCallerMayExecInto() throws {
        let policy = """
        rules:
          - users: [alice]
            namespaces: ["team-*"]
          - groups: [ops]
            namespaces: [default]
            pods: ["web-?"]
            containers: [app]
        """
        let gateway = try SecureGateway(tokens: policyTokens, policy: policy, inventory: policyInventory, discovery: true)
        XCTAssertEqual(names(get(gateway, "/api/v1/pods", token: "alice-p0licy-token-1").body), ["api"])
        XCTAssertEqual(get(gateway, "/api/v1/namespaces/default/pods/web-1", token: "alice-p0licy-token-1").status, 404)
        let bob = get(gateway, "/api/v1/namespaces/default/pods/web-1", token: "bob-p0licy-token-2")
        XCTAssertEqual(bob.status, 200)
        let containers = (try? JSONValue.parse(Array(bob.body.utf8)))?["spec"]?["containers"]?.arrayValue?
            .compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(containers, ["app"], "the sidecar bob may not exec into is not shown")
        XCTAssertEqual(names(get(gateway, "/api/v1/pods", token: "carol-p0licy-token-3").body), [])
    }

    func testDiscoveryRefusalsAreAudited() throws {
        let gateway = try SecureGateway(tokens: securityTokens, discovery: true)
        XCTAssertEqual(get(gateway, "/api/v1/pods", token: aliceToken, method: "DELETE").status, 405)
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual(line["kind"] as? String, "discovery")
        XCTAssertEqual(line["code"] as? Int, 405)
        XCTAssertEqual(line["user"] as? String, "alice")
    }
}

/// Refusals answered before identity are audited too (issue 12, item 7).
final class EarlyRefusalAuditTests: XCTestCase {
    func testMethodAndBadNameRefusalsAreAudited() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        let socket = try RawSocket(port: gateway.port)
        socket.send("DELETE /exec/default/web/app?command=ls&output=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 405)
        let method = gateway.lastAudit(count: 1)
        XCTAssertEqual(method["event"] as? String, "refusal")
        XCTAssertEqual(method["kind"] as? String, "exec")
        XCTAssertEqual(method["code"] as? Int, 405)
        XCTAssertEqual(method["method"] as? String, "DELETE")
        XCTAssertTrue(method["user"] is NSNull)

        let name = try RawSocket(port: gateway.port)
        name.send("POST /attach/default/Bad_Name/app?output=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(aliceToken)\r\n\r\n")
        XCTAssertEqual(name.readResponse()?.status, 400)
        let bad = gateway.lastAudit(count: 2)
        XCTAssertEqual(bad["kind"] as? String, "attach")
        XCTAssertEqual(bad["code"] as? Int, 400)
        XCTAssertEqual(bad["end"] as? String, "refused")
        XCTAssertTrue((bad["message"] as? String ?? "").contains("Bad_Name"), "\(bad)")

        // An exec request without an upgrade (a plain POST from a form), over HTTP/2 too.
        let plain = try RawSocket(port: gateway.port)
        plain.send("POST \(SessionCases.path(["id"])) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(plain.readResponse()?.status, 400)
        let upgrade = gateway.lastAudit(count: 3)
        XCTAssertEqual(upgrade["code"] as? Int, 400)
        XCTAssertEqual(upgrade["argv"] as? [String], ["id"])
        let h2 = try H2Probe(port: gateway.port, headers: [(":method", "PUT"), (":scheme", "http"),
                                                          (":path", SessionCases.path(["id"])), (":authority", "127.0.0.1")])
        XCTAssertEqual(h2.status, 405)
        XCTAssertEqual(gateway.lastAudit(count: 4)["code"] as? Int, 405)

        // RFC 8441 with a WebSocket version the gateway does not speak.
        let connect = try H2Probe(port: gateway.port, headers: [
            (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"), (":path", SessionCases.path(["id"])),
            (":authority", "127.0.0.1"), ("sec-websocket-version", "8"), ("authorization", "Bearer \(aliceToken)"),
        ])
        XCTAssertEqual(connect.status, 426)
        let version = gateway.lastAudit(count: 5)
        XCTAssertEqual(version["code"] as? Int, 426)
        XCTAssertEqual((version["client"] as? [String: Any])?["generation"] as? String, "WebSocket")
    }
}
