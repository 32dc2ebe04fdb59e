@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// Issue 12: no web page can drive exec — a foreign `Origin`, cross-site `Sec-Fetch-*` and a
/// rebinding `Host` are refused (403, audited) before anything runs, on every generation, while
/// the clients that send a same-origin `Origin` (or none) keep working.
final class BrowserProvenanceTests: XCTestCase {
    private func screen(_ headers: [(name: String, value: String)], rules: BrowserProvenance.Rules = .init()) -> RequestError? {
        BrowserProvenance(rules: rules).screen(SecurityContexts.make(headers: headers))
    }

    func testHeaderRules() throws {
        let host = ("host", "127.0.0.1:8080")
        XCTAssertNil(screen([host]))
        XCTAssertNil(screen([host, ("origin", "http://127.0.0.1:8080")]))
        XCTAssertNil(screen([("host", "LocalHost"), ("origin", "HTTP://localhost:80")]), "default port, case")
        XCTAssertNil(screen([host, ("origin", "ws://127.0.0.1:8080")]))
        for origin in ["http://evil.example", "http://127.0.0.1:8081", "https://127.0.0.1:8080", "null", "",
                       "http://127.0.0.1:8080/path", "http://user@127.0.0.1:8080"] {
            XCTAssertEqual(screen([host, ("origin", origin)])?.code, 403, origin)
        }
        XCTAssertEqual(screen([("origin", "http://127.0.0.1")])?.code, 403, "no Host to be same-origin with")
        let allowed = try BrowserProvenance.Rules(origins: BrowserProvenance.origins(["https://Term.Example:8443"]))
        XCTAssertNil(screen([host, ("origin", "HTTPS://term.example:8443")], rules: allowed))
        XCTAssertEqual(screen([host, ("origin", "https://term.example")], rules: allowed)?.code, 403)
        XCTAssertThrowsError(try BrowserProvenance.origins(["term.example"]))

        for site in ["cross-site", "same-site", " Cross-Site"] {
            XCTAssertEqual(screen([host, ("sec-fetch-site", site)])?.code, 403, site)
        }
        for site in ["same-origin", "none"] { XCTAssertNil(screen([host, ("sec-fetch-site", site)]), site) }
        for mode in ["navigate", "no-cors"] { XCTAssertEqual(screen([host, ("sec-fetch-mode", mode)])?.code, 403, mode) }
        for mode in ["cors", "websocket", "same-origin"] { XCTAssertNil(screen([host, ("sec-fetch-mode", mode)]), mode) }
    }

    func testHostRulesWhileAnonymous() {
        let anonymous = BrowserProvenance.Rules(anonymousAllowed: true)
        for name in ["127.0.0.1:1", "127.9.8.7", "localhost", "LOCALHOST:80", "[::1]:8080", "[0:0:0:0:0:0:0:1]"] {
            XCTAssertNil(screen([("host", name)], rules: anonymous), name)
        }
        for name in ["evil.example:8080", "128.0.0.1", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]", "0x7f.1",
                     "2130706433", "[::1"] {
            XCTAssertEqual(screen([("host", name)], rules: anonymous)?.code, 403, name)
        }
        XCTAssertNil(screen([], rules: anonymous), "no Host: no browser")
        var listed = anonymous
        listed.hosts = BrowserProvenance.hosts(["Gw.Example:8080"])
        XCTAssertNil(screen([("host", "gw.example:1234")], rules: listed))
        XCTAssertNil(screen([("host", "evil.example:8080")]), "callers need credentials: the host does not matter")
    }

    // MARK: End to end

    private func marker() -> String { NSTemporaryDirectory() + "execbridge-web-\(UUID().uuidString)" }

    /// Open sockets: a session whose client left would be ended before its command ran.
    private var sockets: [RawSocket] = []

    override func tearDown() {
        sockets = []
    }

    /// An HTTP/1.1 WebSocket exec handshake that creates `file` if it runs.
    private func webSocket(_ gateway: SecureGateway, touching file: String, headers: [String]) throws -> (status: Int, body: String) {
        let socket = try RawSocket(port: gateway.port)
        sockets.append(socket)
        let lines = ["GET \(SessionCases.path(["touch", file])) HTTP/1.1", "Connection: Upgrade", "Upgrade: websocket",
                     "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                     "Sec-WebSocket-Protocol: v4.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0LXRva2Vu"] + headers
        socket.send(lines.joined(separator: "\r\n") + "\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        return (response.status, response.body)
    }

    /// Waits for the command to have created `path`, then lets its client go.
    private func waitForFile(_ path: String) -> Bool {
        defer { sockets = [] }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(10_000)
        }
        return false
    }

    func testWebSocketFromAForeignOriginIsRefusedBeforeItRuns() throws {
        let gateway = try SecureGateway()
        let file = marker()
        let refused = try webSocket(gateway, touching: file, headers: ["Host: 127.0.0.1:\(gateway.port)", "Origin: http://evil.example"])
        XCTAssertEqual(refused.status, 403)
        XCTAssertTrue(refused.body.contains(#""reason":"Forbidden""#), refused.body)
        XCTAssertTrue(refused.body.contains("evil.example"), refused.body)
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual(line["event"] as? String, "refusal")
        XCTAssertEqual(line["code"] as? Int, 403)
        XCTAssertEqual(line["end"] as? String, "denied")
        XCTAssertEqual((line["client"] as? [String: Any])?["generation"] as? String, "WebSocket")
        // The bearer subprotocol is never written down, whatever its case.
        XCTAssertFalse(gateway.auditText.contains("c2VjcmV0LXRva2Vu"), gateway.auditText)

        // The same handshake from the gateway's own origin (websocket-client sends one) runs.
        let same = try webSocket(gateway, touching: file, headers: ["Host: 127.0.0.1:\(gateway.port)",
                                                                     "Origin: http://127.0.0.1:\(gateway.port)"])
        XCTAssertEqual(same.status, 101)
        XCTAssertTrue(waitForFile(file))
        try? FileManager.default.removeItem(atPath: file)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file + "-never"))
    }

    func testRefusedWebSocketNeverRan() throws {
        let gateway = try SecureGateway()
        let file = marker()
        _ = try webSocket(gateway, touching: file, headers: ["Host: 127.0.0.1:\(gateway.port)", "Origin: http://evil.example",
                                                              "Sec-Fetch-Mode: websocket"])
        _ = gateway.lastAudit(count: 1)
        // A later session that does run proves the loop moved past the refusal.
        let after = marker()
        XCTAssertEqual(try webSocket(gateway, touching: after, headers: ["Host: localhost:\(gateway.port)"]).status, 101)
        XCTAssertTrue(waitForFile(after))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        try? FileManager.default.removeItem(atPath: after)
    }

    func testAllowedOriginIsAccepted() throws {
        let gateway = try SecureGateway(settings: { $0.allowOrigins = ["https://terminal.example:8443"] })
        let file = marker()
        let foreign = try webSocket(gateway, touching: file, headers: ["Host: 127.0.0.1:\(gateway.port)",
                                                                        "Origin: https://terminal.example"])
        XCTAssertEqual(foreign.status, 403)
        let allowed = try webSocket(gateway, touching: file, headers: ["Host: 127.0.0.1:\(gateway.port)",
                                                                        "Origin: https://Terminal.Example:8443"])
        XCTAssertEqual(allowed.status, 101)
        XCTAssertTrue(waitForFile(file))
        try? FileManager.default.removeItem(atPath: file)
    }

    func testRebindingHostIsRefusedWhileAnonymous() throws {
        let gateway = try SecureGateway()
        let file = marker()
        let rebound = try webSocket(gateway, touching: file, headers: ["Host: evil.example:\(gateway.port)"])
        XCTAssertEqual(rebound.status, 403)
        XCTAssertTrue(rebound.body.contains("--allow-host"), rebound.body)
        XCTAssertEqual(gateway.lastAudit(count: 1)["code"] as? Int, 403)
        // Over HTTP/2 the :authority is the Host.
        let h2 = try H2Probe(port: gateway.port, headers: [(":method", "POST"), (":scheme", "http"),
                                                          (":path", SessionCases.path(["touch", file])),
                                                          (":authority", "evil.example:\(gateway.port)")])
        XCTAssertEqual(h2.status, 403)
        XCTAssertTrue(h2.bodyText.contains("DNS rebinding"), h2.bodyText)
        XCTAssertEqual(gateway.lastAudit(count: 2)["code"] as? Int, 403)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))

        let listed = try SecureGateway(settings: { $0.allowHosts = ["evil.example"] })
        XCTAssertEqual(try webSocket(listed, touching: file, headers: ["Host: evil.example:\(listed.port)"]).status, 101)
        XCTAssertTrue(waitForFile(file))
        try? FileManager.default.removeItem(atPath: file)
    }

    func testExtendedConnectFromAForeignOriginIsRefused() throws {
        let gateway = try SecureGateway()
        func connect(_ origin: String) throws -> H2Probe {
            try H2Probe(port: gateway.port, headers: [
                (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                (":path", SessionCases.path(["echo", "hi"])), (":authority", "127.0.0.1:\(gateway.port)"),
                ("sec-websocket-version", "13"), ("sec-websocket-protocol", "v5.channel.k8s.io"), ("origin", origin),
            ], headOnly: true)
        }
        let refused = try connect("https://evil.example")
        XCTAssertEqual(refused.status, 403)
        XCTAssertTrue(refused.bodyText.contains("web browsers"), refused.bodyText)
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual(line["code"] as? Int, 403)
        XCTAssertEqual(line["method"] as? String, "CONNECT")
        XCTAssertEqual(try connect("http://127.0.0.1:\(gateway.port)").status, 200)
    }

    func testCrossSiteSingleStreamOverTLSH2IsRefused() throws {
        let gateway = try SecureGateway(tls: true)
        let file = marker()
        func single(_ extra: [(String, String)]) throws -> H2Probe {
            try H2Probe(port: gateway.port, tls: true, headers: [
                (":method", "GET"), (":scheme", "https"), (":path", SessionCases.path(["sh", "-c", "touch \(file); echo ran"])),
                (":authority", "127.0.0.1:\(gateway.port)"),
            ] + extra)
        }
        // What an <img src="https://127.0.0.1:PORT/exec/…"> on another site sends.
        let image = try single([("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "image")])
        XCTAssertEqual(image.status, 403)
        XCTAssertTrue(image.bodyText.contains("Sec-Fetch-Site is cross-site"), image.bodyText)
        XCTAssertEqual(gateway.lastAudit(count: 1)["code"] as? Int, 403)
        XCTAssertEqual(try single([("sec-fetch-site", "same-site")]).status, 403)
        XCTAssertEqual(try single([("sec-fetch-mode", "navigate")]).status, 403)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        // curl's request (no Sec-Fetch-*, no Origin) runs.
        let curl = try single([])
        XCTAssertEqual(curl.status, 200)
        XCTAssertEqual(curl.bodyText, "ran\n")
        try? FileManager.default.removeItem(atPath: file)
    }

    func testDiscoveryFromABrowserIsRefused() throws {
        let gateway = try SecureGateway(discovery: true)
        let socket = try RawSocket(port: gateway.port)
        socket.send("GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\nSec-Fetch-Site: cross-site\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 403)
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual(line["kind"] as? String, "discovery")
        XCTAssertEqual(line["code"] as? Int, 403)
        let health = try RawSocket(port: gateway.port)
        health.send("GET /healthz HTTP/1.1\r\nHost: evil.example\r\nSec-Fetch-Site: cross-site\r\n\r\n")
        XCTAssertEqual(health.readResponse()?.status, 200, "health checks are nobody's secret")
    }
}
