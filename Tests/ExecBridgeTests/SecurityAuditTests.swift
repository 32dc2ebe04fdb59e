@testable import ExecBridge
import ExecModel
import Foundation
import Reactor
import XCTest

/// `--audit-log`: one JSON line per session and per refusal, with secrets redacted from argv.
final class SecurityAuditTests: XCTestCase {
    static let base64Secret = "q8Zr3JkP0vW2xYb7NcT5mLs9Hd4Fg6Ae1Ui/Oy+RtE="
    static let hexSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

    func testSessionLineFieldByField() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        let argv = ["sh", "-c", "echo hello; echo err >&2; exit 3", "x", "--password=hunter2", "token: abc123",
                    Self.base64Secret, Self.hexSecret, "/usr/local/lib/x86_64-linux-gnu/SomeLibrary2Name/file", "--an-option-Name-2-long-enough-for-a-secret"]
        let path = SessionCases.path(argv, form: "/proxy/nodes/n1/exec/default/web/app")
        let r = try SecurityRun.run(.spdy, port: gateway.port, path: path, headers: [("Authorization", "Bearer \(aliceToken)")])
        XCTAssertEqual(r.status?.exitCode, 3)
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual(line["event"] as? String, "session")
        XCTAssertNotNil((line["time"] as? String).flatMap { ISO8601DateFormatter.withFractions.date(from: $0) }, "\(line["time"] ?? "")")
        XCTAssertEqual(line["user"] as? String, "alice")
        XCTAssertEqual(line["uid"] as? String, "1001")
        XCTAssertEqual(line["groups"] as? [String], ["developers", "team-a", "system:authenticated"])
        XCTAssertEqual(line["auth"] as? String, "token")
        XCTAssertTrue((line["source"] as? String)?.hasPrefix("127.0.0.1:") ?? false, "\(line["source"] ?? "")")
        XCTAssertEqual(line["method"] as? String, "POST")
        let client = try XCTUnwrap(line["client"] as? [String: Any])
        XCTAssertEqual(client["generation"] as? String, "SPDY/3.1")
        XCTAssertEqual(client["version"] as? String, "v4.channel.k8s.io")
        XCTAssertEqual(client["offered"] as? [String], ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"])
        XCTAssertEqual((line["backend"] as? [String: Any])?["kind"] as? String, "local")
        XCTAssertEqual(line["kind"] as? String, "exec")
        let target = try XCTUnwrap(line["target"] as? [String: Any])
        XCTAssertEqual(target["node"] as? String, "n1")
        XCTAssertEqual(target["namespace"] as? String, "default")
        XCTAssertEqual(target["pod"] as? String, "web")
        XCTAssertEqual(target["container"] as? String, "app")
        XCTAssertEqual(line["argv"] as? [String], ["sh", "-c", "echo hello; echo err >&2; exit 3", "x", "--password=[REDACTED]",
                                                   "token: [REDACTED]", "[REDACTED]", "[REDACTED]",
                                                   "/usr/local/lib/x86_64-linux-gnu/SomeLibrary2Name/file",
                                                   "--an-option-Name-2-long-enough-for-a-secret"])
        XCTAssertEqual(line["tty"] as? Bool, false)
        XCTAssertEqual(line["stdin"] as? Bool, false)
        XCTAssertEqual(line["stdout"] as? Bool, true)
        XCTAssertEqual(line["stderr"] as? Bool, true)
        XCTAssertEqual(line["bytes"] as? [String: Int], ["stdin": 0, "stdout": 6, "stderr": 4])
        XCTAssertEqual(line["exitCode"] as? Int, 3)
        XCTAssertNil(line["failure"])
        XCTAssertGreaterThanOrEqual(line["durationSeconds"] as? Double ?? -1, 0)
        XCTAssertEqual(line["end"] as? String, "exit")
        for secret in ["hunter2", "abc123", Self.base64Secret, Self.hexSecret, aliceToken] {
            XCTAssertFalse(gateway.auditText.contains(secret), secret)
        }
    }

    func testHTTP2SessionWithStdinAndTTY() throws {
        let gateway = try SecureGateway()
        let r = ExecRun(stdin: Array("abc\n".utf8)).run(.h2Prior, port: gateway.port,
                                                       path: SessionCases.path(["cat"], "input=1&output=1&tty=1"), tty: true)
        XCTAssertEqual(r.status, .success)
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual((line["client"] as? [String: Any])?["generation"] as? String, "HTTP/2")
        XCTAssertEqual(line["tty"] as? Bool, true)
        XCTAssertEqual(line["stdin"] as? Bool, true)
        XCTAssertEqual((line["bytes"] as? [String: Int])?["stdin"], 4)
        XCTAssertEqual(line["user"] as? String, "system:anonymous")
        XCTAssertEqual(line["exitCode"] as? Int, 0)
    }

    func testFailureAndClientGone() throws {
        let gateway = try SecureGateway()
        let failed = try SecurityRun.run(.h2Upgrade, port: gateway.port, path: SessionCases.path(["/no/such/binary", "password=x1"]))
        XCTAssertNil(failed.status?.exitCode)
        let failure = try XCTUnwrap(gateway.lastAudit(count: 1)["failure"] as? [String: Any])
        XCTAssertNotNil(failure["reason"] as? String)
        XCTAssertNotNil(failure["code"] as? Int)
        XCTAssertTrue((failure["message"] as? String)?.contains("no/such/binary") ?? false, "\(failure)")
        XCTAssertEqual(gateway.lastAudit(count: 1)["end"] as? String, "exit")

        let marker = "\(Int.random(in: 100_000...999_999))"
        let r = ExecRun()
        var killed = false
        r.onTick = { run in
            if !killed && !processes(containing: "sleep \(marker)").isEmpty {
                killed = true
                run.kill()
            }
        }
        r.run(.spdy, port: gateway.port, path: SessionCases.path(["sleep", marker], "input=1&output=1&error=1"), timeout: 20)
        XCTAssertTrue(killed)
        let gone = gateway.lastAudit(count: 2)
        XCTAssertEqual(gone["end"] as? String, "client gone")
        XCTAssertNil(gone["exitCode"])
        XCTAssertEqual(gone["argv"] as? [String], ["sleep", marker])
    }

    func testRefusalsAreAudited() throws {
        let gateway = try SecureGateway(tokens: securityTokens, inventory: privilegedInventory)
        _ = try SecurityRun.run(.h2Prior, port: gateway.port, headers: [("Authorization", "Bearer \(aliceToken)-wrong")])
        let unauthorized = gateway.lastAudit(count: 1)
        XCTAssertEqual(unauthorized["event"] as? String, "refusal")
        XCTAssertEqual(unauthorized["end"] as? String, "denied")
        XCTAssertEqual(unauthorized["code"] as? Int, 401)
        XCTAssertEqual(unauthorized["message"] as? String, "Unauthorized")
        XCTAssertTrue(unauthorized["user"] is NSNull)
        XCTAssertEqual(unauthorized["groups"] as? [String], [])
        XCTAssertEqual(unauthorized["auth"] as? String, "none")
        XCTAssertEqual((unauthorized["client"] as? [String: Any])?["generation"] as? String, "HTTP/2")
        XCTAssertTrue((unauthorized["client"] as? [String: Any])?["version"] is NSNull)
        XCTAssertEqual(unauthorized["durationSeconds"] as? Double, 0)
        XCTAssertNil(unauthorized["bytes"])

        // Not an authorization matter: audited as refused (404 of the inventory).
        _ = try SecurityRun.run(.spdy, port: gateway.port, path: SecurityPrivilegedTests.path("nope", "app"),
                                headers: [("Authorization", "Bearer \(aliceToken)")])
        let missing = gateway.lastAudit(count: 2)
        XCTAssertEqual(missing["end"] as? String, "refused")
        XCTAssertEqual(missing["code"] as? Int, 404)
        XCTAssertEqual(missing["user"] as? String, "alice")
        XCTAssertEqual((missing["client"] as? [String: Any])?["generation"] as? String, "SPDY/3.1")
        XCTAssertEqual((missing["client"] as? [String: Any])?["offered"] as? [String],
                       ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"])
    }

    /// A WebSocket client whose channel versions are all unknown gets 403 naming what it offered:
    /// but never its bearer subprotocol, which would reach its screen, the logs and the audit line.
    func testARefusedSubprotocolOfferNeverRepeatsTheBearerToken() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        let encoded = Data(aliceToken.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        // The second spelling is no credential (kube-apiserver matches the prefix exactly: 401), and
        // is not repeated either.
        for (bearer, status) in [("base64url.bearer.authorization.k8s.io.\(encoded)", 403),
                                 ("Base64URL.Bearer.Authorization.K8s.IO.\(encoded)", 401)] {
            let socket = try RawSocket(port: gateway.port)
            socket.send("GET /exec/default/web/app?command=true&stdout=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Protocol: v9.channel.k8s.io, \(bearer)\r\n\r\n")
            let answer = try XCTUnwrap(socket.readResponse())
            XCTAssertEqual(answer.status, status, answer.head)
            if status == 403 {
                XCTAssertTrue(answer.body.contains("requested protocol(s) are not supported: [v9.channel.k8s.io]"), answer.body)
            }
            XCTAssertFalse(answer.body.contains(encoded), answer.body)
        }
        _ = gateway.auditLines(atLeast: 2)
        XCTAssertFalse(gateway.auditText.contains(encoded), gateway.auditText)
        XCTAssertFalse(gateway.logs.text.contains(encoded))
    }

    func testCustomRedaction() throws {
        let gateway = try SecureGateway(redact: [#"hunter\d"#, #"--key=(\S+)"#])
        _ = try SecurityRun.run(.spdy, port: gateway.port,
                                path: SessionCases.path(["echo", "hunter2", "--key=abc", "password=stays"]))
        XCTAssertEqual(gateway.lastAudit(count: 1)["argv"] as? [String], ["echo", "[REDACTED]", "--key=[REDACTED]", "password=stays"])

        let both = try SecureGateway(redact: ["default", #"hunter\d"#])
        _ = try SecurityRun.run(.spdy, port: both.port, path: SessionCases.path(["echo", "hunter2", "password=goes", Self.hexSecret]))
        XCTAssertEqual(both.lastAudit(count: 1)["argv"] as? [String], ["echo", "[REDACTED]", "password=[REDACTED]", "[REDACTED]"])
    }

    func testDefaultRedaction() throws {
        let redactor = try AuditRedactor(patterns: [])
        let cases: [(String, String)] = [
            ("password=hunter2", "password=[REDACTED]"),
            ("DB_PASSWORD=s3cret&x=1", "DB_PASSWORD=[REDACTED]&x=1"),
            ("--api-key abc", "--api-key [REDACTED]"),
            ("--api-key=abc", "--api-key=[REDACTED]"),
            ("curl -H 'Authorization: Bearer abc.def' http://x", "curl -H 'Authorization: Bearer [REDACTED]' http://x"),
            ("client_secret: xyz", "client_secret: [REDACTED]"),
            ("Bearer abc.def", "Bearer [REDACTED]"),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "[REDACTED]"),
            ("key " + Self.base64Secret + " end", "key [REDACTED] end"),
            ("sha256:" + Self.hexSecret, "sha256:[REDACTED]"),
            ("echo hello world", "echo hello world"),
            ("/var/lib/kubelet/pods/0a1b2c3d-1111-2222-3333-444455556666/volumes", "/var/lib/kubelet/pods/0a1b2c3d-1111-2222-3333-444455556666/volumes"),
            ("--Xlinker-rpath-Option2-that-is-long", "--Xlinker-rpath-Option2-that-is-long"),
            ("ThisIsAVeryLongCamelCaseIdentifierWithoutDigits", "ThisIsAVeryLongCamelCaseIdentifierWithoutDigits"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(redactor.redact(input), expected, input)
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
