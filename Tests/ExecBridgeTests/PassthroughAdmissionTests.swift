import Foundation
@testable import ExecBridge
import ExecModel
import XCTest

/// Issue 12: passthrough is no open proxy — admitted like exec when identities are configured,
/// audited, stripped of the client's identity claims, and never a way to a command endpoint.
final class PassthroughAdmissionTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "execbridge-pt-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private var auditPath: String { dir + "/audit.log" }

    /// A gateway in front of `upstream` with `--token-file` (alice, root) and `--audit-log`.
    private func gateway(_ upstream: TinyHTTPServer, tokens: Bool = true,
                         settings configure: (inout SecuritySettings) -> Void = { _ in }) throws -> GatewayHarness {
        var backend = BackendSettings()
        backend.backend = "spdy://127.0.0.1:\(upstream.port)"
        var settings = SecuritySettings()
        if tokens {
            try securityTokens.write(toFile: dir + "/tokens.csv", atomically: true, encoding: .utf8)
            settings.tokenFile = dir + "/tokens.csv"
        }
        settings.auditLog = auditPath
        configure(&settings)
        let chosen = (backend, settings)
        var failure: Error?
        let harness = try GatewayHarness(configure: { config in
            do {
                try BackendFactory.install(chosen.0, into: &config, logger: config.logger)
                try chosen.1.install(into: &config)
            } catch { failure = error }
        })
        if let failure { throw failure }
        return harness
    }

    private func upstream() throws -> TinyHTTPServer {
        try TinyHTTPServer { _ in TinyHTTPServer.response("200 OK", headers: ["Content-Type: text/plain"], body: Array("upstream\n".utf8)) }
    }

    private func audit(atLeast count: Int) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(10)
        var lines: [String] = []
        repeat {
            lines = ((try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            if lines.count >= count { break }
            usleep(10_000)
        } while Date() < deadline
        XCTAssertGreaterThanOrEqual(lines.count, count)
        return lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    private func send(_ port: UInt16, _ request: String) throws -> (head: String, body: String) {
        let socket = try RawSocket(port: port)
        socket.send(request)
        let (head, body) = socket.readUntilClose()
        return (head, String(decoding: body, as: UTF8.self))
    }

    func testAnonymousPassthroughIsRefusedWithATokenFile() throws {
        let server = try upstream()
        let harness = try gateway(server)
        let answer = try send(harness.port, "GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertTrue(answer.head.hasPrefix("HTTP/1.1 401 "), answer.head)
        XCTAssertTrue(answer.body.contains(#""reason":"Unauthorized""#), answer.body)
        let wrong = try send(harness.port, "GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer nope\r\n\r\n")
        XCTAssertTrue(wrong.head.hasPrefix("HTTP/1.1 401 "), wrong.head)
        XCTAssertEqual(server.requests.count, 0)
        let lines = audit(atLeast: 2)
        XCTAssertEqual(lines.first?["event"] as? String, "refusal")
        XCTAssertEqual(lines.first?["kind"] as? String, "passthrough")
        XCTAssertEqual(lines.first?["code"] as? Int, 401)
        XCTAssertEqual(lines.first?["path"] as? String, "/api/v1/namespaces")
        XCTAssertTrue(lines.first?["user"] is NSNull)
    }

    func testAdmittedPassthroughIsAuditedAndStripped() throws {
        let server = try upstream()
        let harness = try gateway(server)
        let answer = try send(harness.port, "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: gw.example\r\n"
            + "Authorization: Bearer \(aliceToken)\r\nImpersonate-User: admin\r\nImpersonate-Group: system:masters\r\n"
            + "Impersonate-Extra-Scopes: all\r\nX-Remote-User: admin\r\nX-Remote-Group: system:masters\r\n"
            + "X-Forwarded-For: 10.9.9.9\r\nX-Forwarded-Host: spoofed.example\r\nX-Forwarded-Proto: https\r\n"
            + "Forwarded: for=10.9.9.9\r\nX-Kept: 1\r\nContent-Length: 5\r\n\r\nhello")
        XCTAssertTrue(answer.head.hasPrefix("HTTP/1.1 200 OK"), answer.head)
        XCTAssertEqual(answer.body, "upstream\n")
        let seen = try XCTUnwrap(server.requests.first)
        for name in ["authorization", "impersonate-user", "impersonate-group", "impersonate-extra-scopes", "x-remote-user",
                     "x-remote-group", "forwarded"] {
            XCTAssertEqual(seen.header(name), [], name)
        }
        XCTAssertEqual(seen.header("x-forwarded-for"), ["127.0.0.1"])
        XCTAssertEqual(seen.header("x-forwarded-host"), ["gw.example"])
        XCTAssertEqual(seen.header("x-forwarded-proto"), ["http"])
        XCTAssertEqual(seen.header("x-kept"), ["1"])
        XCTAssertEqual(seen.body, Array("hello".utf8))

        let line = try XCTUnwrap(audit(atLeast: 1).first)
        XCTAssertEqual(line["event"] as? String, "passthrough")
        XCTAssertEqual(line["user"] as? String, "alice")
        XCTAssertEqual(line["method"] as? String, "POST")
        XCTAssertEqual(line["path"] as? String, "/api/v1/namespaces/default/configmaps")
        XCTAssertEqual(line["status"] as? Int, 200)
        XCTAssertEqual((line["bytes"] as? [String: Any])?["request"] as? Int, 5)
        XCTAssertEqual((line["bytes"] as? [String: Any])?["response"] as? Int, 9)
        XCTAssertFalse(((try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "").contains(aliceToken))
    }

    func testAuthorizationIsForwardedOnlyWhenAsked() throws {
        let server = try upstream()
        let harness = try gateway(server, settings: { $0.passthroughForwardAuthorization = true })
        _ = try send(harness.port, "GET /api/v1/pods HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer \(aliceToken)\r\n\r\n")
        XCTAssertEqual(server.requests.first?.header("authorization"), ["Bearer \(aliceToken)"])
    }

    func testAnonymousPassthroughWithoutIdentitiesStillWorks() throws {
        let server = try upstream()
        let harness = try gateway(server, tokens: false)
        let answer = try send(harness.port, "GET /api/v1/pods HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertTrue(answer.head.hasPrefix("HTTP/1.1 200 OK"), answer.head)
        XCTAssertEqual(audit(atLeast: 1).first?["user"] as? String, "system:anonymous")
    }

    func testCommandPathsAreNeverForwarded() throws {
        let server = try upstream()
        let harness = try gateway(server)
        let bearer = "Authorization: Bearer \(rootToken)\r\n"
        let targets = [
            "POST /run/default/web/debug?cmd=id", "POST /run/default/web/0b6c1a2e/debug?cmd=id", "POST /r%75n/default/web/debug?cmd=id",
            "POST //run/default/web/debug?cmd=id", "POST /./RUN/default/web/debug", "POST /x/../run/default/web/debug",
            "POST /api/v1/nodes/n1/proxy/run/default/web/debug?cmd=id", "POST /proxy/nodes/n1/run/default/web/debug",
            "GET /portForward/default/web", "POST /api/v1/namespaces/default/pods/web/portforward",
            "POST /cri/exec/abcdef", "GET /exec/default/web", "GET /attach/default/web",
        ]
        for target in targets {
            for credentials in ["", bearer] {
                let socket = try RawSocket(port: harness.port)
                socket.send("\(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(credentials)Content-Length: 0\r\n\r\n")
                let answer = try XCTUnwrap(socket.readResponse(), target)
                // Port-forward paths are served here (400: no upgrade asked), never passed through.
                XCTAssertTrue([400, 404, 501].contains(answer.status), "\(target): \(answer.head)")
                XCTAssertTrue(answer.body.contains(#""kind":"Status""#), answer.body)
            }
        }
        XCTAssertEqual(server.requests.map(\.requestLine), [])
        let lines = audit(atLeast: targets.count * 2)
        XCTAssertEqual(lines.first?["kind"] as? String, "command")
        XCTAssertEqual(lines.first?["code"] as? Int, 501)
        XCTAssertEqual(lines.first?["path"] as? String, "/run/default/web/debug?cmd=id")
    }

    func testCommandPathClassifier() {
        XCTAssertEqual(CommandPaths.command(in: "/run/ns/pod/c"), "run")
        XCTAssertEqual(CommandPaths.command(in: "/%52un/ns/pod/c"), "run")
        XCTAssertEqual(CommandPaths.command(in: "http://host/run/ns/pod/c"), "run")
        XCTAssertEqual(CommandPaths.command(in: "/api/v1beta3/proxy/minions/n/portForward/ns/p"), "portforward")
        XCTAssertEqual(CommandPaths.command(in: "/api/v1/namespaces/ns/pods/p/attach"), "attach")
        XCTAssertEqual(CommandPaths.command(in: "/cri/attach/token"), "cri")
        XCTAssertNil(CommandPaths.command(in: "/api/v1/namespaces/run/pods"))
        XCTAssertNil(CommandPaths.command(in: "/api/v1/namespaces/ns/pods/run/log"))
        XCTAssertNil(CommandPaths.command(in: "/runs/x"))
        XCTAssertNil(CommandPaths.command(in: "/healthz"))
    }
}
