@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// Issue 19, the HTTP side of `--ui`: the page's files and headers, the exact allowlist, and the
/// JSON's admission (a bearer token, never a cookie; the browser rules), policy and ownership.
/// The browser side is `Compat/cases/ui.sh` (headless Chromium).
final class UITests: XCTestCase {
    static let tokens = "alice-ui-token,alice,1001,\"developers\"\nbob-ui-token,bob,1002\nal_ice-ui-token,al_ice,1003\n"
    static let csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    static let inventory = """
    pods:
      - namespace: default
        name: web
        containers:
          - name: app
          - name: sidecar
      - namespace: team-a
        name: api
        containers:
          - name: app
    """

    private func assertProtected(_ answer: UIGateway.Answer, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(answer.header("Content-Security-Policy"), Self.csp, what, file: file, line: line)
        XCTAssertEqual(answer.header("X-Frame-Options"), "DENY", what, file: file, line: line)
        XCTAssertEqual(answer.header("X-Content-Type-Options"), "nosniff", what, file: file, line: line)
        XCTAssertEqual(answer.header("Referrer-Policy"), "no-referrer", what, file: file, line: line)
    }

    func testWithoutTheFlagThereIsNoUI() throws {
        let gateway = try UIGateway(ui: false, tokens: Self.tokens)
        for target in ["/ui", "/ui/", "/ui/app.js", "/ui/vendor/xterm.js"] {
            XCTAssertEqual(gateway.get(target).status, 404, target)
        }
        XCTAssertEqual(gateway.get("/ui/api/session", token: "alice-ui-token").status, 404)
    }

    func testEveryAnswerCarriesTheSecurityHeaders() throws {
        let gateway = try UIGateway(tokens: Self.tokens, inventory: Self.inventory)
        let files: [(String, String)] = [("/ui/", "text/html; charset=utf-8"), ("/ui/app.js", "text/javascript; charset=utf-8"),
                                         ("/ui/style.css", "text/css; charset=utf-8"), ("/ui/modules.js", "text/javascript; charset=utf-8"),
                                         ("/ui/vendor/xterm.js", "text/javascript; charset=utf-8"),
                                         ("/ui/vendor/xterm.css", "text/css; charset=utf-8")]
        for (target, type) in files {
            let answer = gateway.get(target)
            XCTAssertEqual(answer.status, 200, target)
            XCTAssertEqual(answer.header("Content-Type"), type, target)
            assertProtected(answer, target)
        }
        for (target, status) in [("/ui/nope.js", 404), ("/ui/api/session", 401)] {
            let answer = gateway.get(target)
            XCTAssertEqual(answer.status, status, target)
            assertProtected(answer, target)
            XCTAssertEqual(answer.header("Cache-Control"), "no-store", target)
        }
        let json = gateway.get("/ui/api/pods", token: "alice-ui-token")
        XCTAssertEqual(json.status, 200)
        XCTAssertEqual(json.header("Content-Type"), "application/json")
        XCTAssertEqual(json.header("Cache-Control"), "no-store")
        assertProtected(json, "pods")
        XCTAssertEqual(gateway.get("/ui/app.js", method: "POST").status, 405)
        let moved = gateway.get("/ui")
        XCTAssertEqual(moved.status, 308)
        XCTAssertEqual(moved.header("Location"), "/ui/")
    }

    func testThePageHasNoInlineScriptOrStyle() throws {
        let gateway = try UIGateway()
        let page = gateway.get("/ui/").body
        XCTAssertTrue(page.contains("<script src=\"app.js\""), page)
        let scripts = page.components(separatedBy: "<script").dropFirst()
        XCTAssertFalse(scripts.isEmpty)
        for script in scripts { XCTAssertTrue(script.hasPrefix(" src=\""), "inline script: \(script.prefix(80))") }
        XCTAssertFalse(page.contains("<style"), "inline stylesheet")
        XCTAssertFalse(page.contains("style="), "style attribute")
        XCTAssertNil(page.range(of: #"\son[a-z]+\s*="#, options: [.regularExpression, .caseInsensitive]), "inline event handler")
        XCTAssertFalse(page.contains("http://") || page.contains("https://"), "a third-party request")
        // The page's own scripts: no HTML from strings, no code from strings, no cookie, nothing kept beyond the tab.
        for name in UIAssets.contentTypes.keys where name.hasSuffix(".js") {
            let script = gateway.get("/ui/" + name).body
            XCTAssertFalse(script.isEmpty, name)
            for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                           "document.cookie", "localStorage", "http://", "https://"] {
                XCTAssertFalse(script.contains(banned), "\(name) uses \(banned)")
            }
        }
    }

    func testOnlyListedFilesAreServedAndNoPathClimbsOut() throws {
        let gateway = try UIGateway()
        for target in ["/ui/../README.md", "/ui/%2e%2e/Package.swift", "/ui/..%2fPackage.swift", "/ui/vendor/../../Package.swift",
                       "/ui/vendor/xterm/../../app.js", "/ui/vendor/Terminal.js", "/ui/vendor/public/Terminal.js",
                       "/ui/vendor/addons/fit/fit.js", "/ui//app.js", "/ui/app.js/", "/ui/.git/config", "/ui/index.html.bak",
                       "/ui/APP.JS", "/ui/vendor/xterm.js.map", "/ui/%00app.js", "/ui/api/../app.js"] {
            let answer = gateway.get(target)
            XCTAssertEqual(answer.status, 404, target)
            XCTAssertFalse(answer.body.contains("swift-tools-version") || answer.body.contains("execbridgeDefine"), target)
        }
    }

    func testTheXtermScriptWrapsEveryListedModule() throws {
        let gateway = try UIGateway()
        let script = gateway.get("/ui/vendor/xterm.js").body
        for name in XtermBundle.moduleNames + ["addons/fit/fit"] {
            XCTAssertTrue(script.contains("execbridgeDefine(\"\(name)\", function (require, module, exports) {\n"), name)
        }
        XCTAssertTrue(script.contains("exports.name = \"public/Terminal\";\n\n});\n"))
        XCTAssertFalse(script.contains("sourceMappingURL"))
        XCTAssertEqual(gateway.get("/ui/vendor/xterm.css").body, ".xterm { position: relative; }\n")
    }

    func testWithoutTheXtermPackagesThePageSaysHowToInstallThem() throws {
        let gateway = try UIGateway(xterm: false)
        let page = gateway.get("/ui/")
        XCTAssertEqual(page.status, 503)
        XCTAssertTrue(page.body.contains("apt-get install node-xterm libjs-xterm"), page.body)
        XCTAssertFalse(page.body.contains("<script"))
        assertProtected(page, "error page")
        XCTAssertEqual(gateway.get("/ui/vendor/xterm.js").status, 404)
        XCTAssertTrue(gateway.logs.text.contains("error --ui: the terminal component is not installed ("), gateway.logs.text)
    }

    func testTheJSONNeedsABearerTokenNeverACookie() throws {
        let gateway = try UIGateway(tokens: Self.tokens)
        let none = gateway.get("/ui/api/session")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.header("WWW-Authenticate"), "Bearer")
        XCTAssertEqual(gateway.get("/ui/api/session", token: "alice-ui-token-wrong").status, 401)
        XCTAssertEqual(gateway.get("/ui/api/pods", headers: [("Cookie", "token=alice-ui-token")]).status, 401)
        let alice = gateway.get("/ui/api/session", token: "alice-ui-token")
        XCTAssertEqual(alice.status, 200)
        XCTAssertEqual(alice.body, #"{"user":"alice","groups":["developers","system:authenticated"],"recordings":true,"inventory":false}"#)
        let lines = gateway.auditLines(atLeast: 4)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines.map { $0["kind"] as? String }, ["ui", "ui", "ui", "ui"])
        XCTAssertEqual(lines[0]["end"] as? String, "denied")
        XCTAssertEqual(lines[0]["code"] as? Int, 401)
        XCTAssertEqual(lines[3]["event"] as? String, "request")
        XCTAssertEqual(lines[3]["user"] as? String, "alice")
        XCTAssertEqual(lines[3]["status"] as? Int, 200)
        XCTAssertEqual(lines[3]["path"] as? String, "/ui/api/session")
    }

    func testAnotherSitesPageCannotReadTheJSON() throws {
        let gateway = try UIGateway(tokens: Self.tokens)
        let foreign = gateway.get("/ui/api/session", token: "alice-ui-token", headers: [("Origin", "http://evil.example")])
        XCTAssertEqual(foreign.status, 403)
        XCTAssertTrue(foreign.body.contains("requests from web browsers are refused"), foreign.body)
        XCTAssertEqual(gateway.get("/ui/api/session", token: "alice-ui-token", headers: [("Sec-Fetch-Site", "cross-site")]).status, 403)
        let own = gateway.get("/ui/api/session", token: "alice-ui-token",
                              headers: [("Origin", "http://127.0.0.1:\(gateway.port)"), ("Sec-Fetch-Site", "same-origin"),
                                        ("Sec-Fetch-Mode", "cors")])
        XCTAssertEqual(own.status, 200, own.body)
        // The page itself is a navigation: it carries nothing of the caller and is not screened.
        XCTAssertEqual(gateway.get("/ui/", headers: [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Site", "none")]).status, 200)
    }

    func testThePodsAreThoseThePolicyLetsTheCallerExecInto() throws {
        let policy = """
        rules:
          - users: [alice]
            namespaces: ["team-*"]
          - users: [bob]
            namespaces: [default]
            containers: [app]
        """
        let gateway = try UIGateway(tokens: Self.tokens, policy: policy, inventory: Self.inventory)
        XCTAssertEqual(gateway.get("/ui/api/pods", token: "alice-ui-token").body,
                       #"{"inventory":true,"pods":[{"namespace":"team-a","name":"api","node":null,"containers":["app"]}]}"#)
        XCTAssertEqual(gateway.get("/ui/api/pods", token: "bob-ui-token").body,
                       #"{"inventory":true,"pods":[{"namespace":"default","name":"web","node":null,"containers":["app"]}]}"#)
        XCTAssertEqual(gateway.get("/ui/api/pods", token: "al_ice-ui-token").body, #"{"inventory":true,"pods":[]}"#)
    }

    func testACallerSeesAndReadsOnlyItsOwnRecordings() throws {
        let gateway = try UIGateway(tokens: Self.tokens)
        let mine = try gateway.writeRecording(fileUser: "alice", headerUser: "alice", session: "1000000000000001", output: "alice's")
        let bobs = try gateway.writeRecording(fileUser: "bob", headerUser: "bob", session: "2000000000000002")
        // "al ice" and "al_ice" share a file name; the header tells them apart.
        let lookalike = try gateway.writeRecording(fileUser: "al_ice", headerUser: "al ice", session: "3000000000000003")
        // A link named like alice's recording, to a file that is not one.
        let link = "20261206T052240Z-4000000000000004-alice.cast"
        try FileManager.default.createSymbolicLink(atPath: gateway.recordDir + "/" + link, withDestinationPath: "/etc/passwd")

        let list = gateway.get("/ui/api/recordings", token: "alice-ui-token")
        XCTAssertEqual(list.status, 200)
        XCTAssertEqual(list.header("Cache-Control"), "no-store")
        let ids = (try JSONValue.parse(Array(list.body.utf8)))["recordings"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        XCTAssertEqual(ids, [mine])
        XCTAssertTrue(list.body.contains(#""target":"default/web/app""#), list.body)

        let read = gateway.get("/ui/api/recordings/" + mine, token: "alice-ui-token")
        XCTAssertEqual(read.status, 200)
        XCTAssertEqual(read.header("Content-Type"), "application/x-asciicast")
        XCTAssertEqual(read.body, try String(contentsOfFile: gateway.recordDir + "/" + mine, encoding: .utf8))
        XCTAssertEqual(gateway.get("/ui/api/recordings/" + bobs, token: "alice-ui-token").status, 404)
        XCTAssertEqual(gateway.get("/ui/api/recordings/" + link, token: "alice-ui-token").status, 404)
        XCTAssertEqual(gateway.get("/ui/api/recordings/" + bobs, token: "bob-ui-token").status, 200)
        XCTAssertEqual(gateway.get("/ui/api/recordings", token: "al_ice-ui-token").body, #"{"recordings":[]}"#)
        XCTAssertEqual(gateway.get("/ui/api/recordings/" + lookalike, token: "al_ice-ui-token").status, 404)
        for id in ["..%2f..%2fetc%2fpasswd", "../../etc/passwd", "%2e%2e", mine + "/", "./" + mine, "..", ""] {
            let answer = gateway.get("/ui/api/recordings/" + id, token: "alice-ui-token")
            XCTAssertEqual(answer.status, 404, id)
            XCTAssertFalse(answer.body.contains("root:"), id)
        }
    }

    func testWithoutARecordDirThereAreNoRecordings() throws {
        let gateway = try UIGateway(tokens: Self.tokens, recordings: false)
        XCTAssertTrue(gateway.get("/ui/api/session", token: "alice-ui-token").body.contains(#""recordings":false"#))
        let answer = gateway.get("/ui/api/recordings", token: "alice-ui-token")
        XCTAssertEqual(answer.status, 404)
        XCTAssertTrue(answer.body.contains("--record-dir is not set"), answer.body)
    }

    func testRecordingIDsAreTheGatewaysOwnFileNames() {
        XCTAssertTrue(RecordingLibrary.isValidID("20261206T022834Z-1f2e3d4c5b6a7980-alice.cast"))
        XCTAssertTrue(RecordingLibrary.isValidID(RecordingFileName.make(time: 0, session: "0123456789abcdef", user: "../x y")))
        for id in ["20261206T022834Z-1f2e3d4c5b6a7980-.cast", "20261206T022834Z-1f2e3d4c5b6a7980-../x.cast",
                   "20261206T022834Z-1F2E3D4C5B6A7980-alice.cast", "20261206T022834Z-1f2e3d4c5b6a7980-.alice.cast",
                   "2026120xT022834Z-1f2e3d4c5b6a7980-alice.cast", "20261206T022834Z-1f2e3d4c5b6a7980-alice.txt",
                   "20261206T022834Z-1f2e3d4c5b6a7980-a/b.cast", "../20261206T022834Z-1f2e3d4c5b6a7980-alice.cast"] {
            XCTAssertFalse(RecordingLibrary.isValidID(id), id)
        }
    }

    /// What Chromium sends with the page's exec WebSocket (seen in Compat/cases/ui.sh): same-origin
    /// passes, over TLS as in cleartext; the same headers from another origin, or with the other
    /// scheme, do not.
    func testThePagesWebSocketPassesAsSameOrigin() {
        for tls in [false, true] {
            let scheme = tls ? "https" : "http"
            func screen(origin: String, site: String) -> RequestError? {
                var context = SecurityContexts.make(method: "GET", target: "/api/v1/namespaces/default/pods/web/exec", headers: [
                    ("host", "127.0.0.1:8443"), ("origin", origin), ("sec-fetch-site", site), ("sec-fetch-mode", "websocket"),
                    ("sec-fetch-dest", "empty"), ("upgrade", "websocket")])
                context.isTLS = tls
                return BrowserProvenance(rules: .init(anonymousAllowed: true)).screen(context)
            }
            XCTAssertNil(screen(origin: "\(scheme)://127.0.0.1:8443", site: "same-origin"), scheme)
            XCTAssertEqual(screen(origin: "\(tls ? "http" : "https")://127.0.0.1:8443", site: "same-origin")?.code, 403, scheme)
            XCTAssertEqual(screen(origin: "\(scheme)://127.0.0.1:8444", site: "same-site")?.code, 403, scheme)
        }
    }

    /// With `--client-ca`, the browser's certificate is the credential: the page signs in without a token.
    func testAClientCertificateIdentifiesThePagesCaller() throws {
        let gateway = try UIGateway(tokens: Self.tokens, clientCA: true)
        let alice = try gateway.curlTLS("/ui/api/session", certificate: "alice")
        XCTAssertEqual(alice.status, 200, alice.body)
        XCTAssertEqual(alice.body, #"{"user":"alice","groups":["developers","team-a","system:authenticated"],"recordings":true,"inventory":false}"#)
        XCTAssertEqual(try gateway.curlTLS("/ui/api/session", certificate: "impostor").status, 401)
        XCTAssertEqual(try gateway.curlTLS("/ui/api/session", certificate: nil).status, 401)
        XCTAssertEqual(try gateway.curlTLS("/ui/", certificate: nil).status, 200)
    }

    func testTheUIIsServedOverHTTP2Too() throws {
        let gateway = try UIGateway(tokens: Self.tokens)
        let page = try H2Probe(port: gateway.port, headers: [(":method", "GET"), (":scheme", "http"),
                                                              (":authority", "127.0.0.1:\(gateway.port)"), (":path", "/ui/")])
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.bodyText.contains("<title>ExecBridge</title>"))
        let json = try H2Probe(port: gateway.port, headers: [(":method", "GET"), (":scheme", "http"),
                                                              (":authority", "127.0.0.1:\(gateway.port)"),
                                                              (":path", "/ui/api/session"), ("authorization", "Bearer bob-ui-token")])
        XCTAssertEqual(json.status, 200)
        XCTAssertTrue(json.bodyText.contains(#""user":"bob""#), json.bodyText)
    }
}
