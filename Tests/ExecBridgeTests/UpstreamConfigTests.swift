@testable import ExecBridge
import ExecModel
import HTTP1
import XCTest

/// The upstream's configuration: URLs, the path template and its query, header rules, framing.
final class UpstreamConfigTests: XCTestCase {
    private func request(_ path: String, kind: ExecRequest.Kind = .exec) throws -> ExecRequest {
        guard case .success(var request)? = ExecRouter.route(method: "POST", target: path) else {
            throw XCTSkip("route failed for \(path)")
        }
        request.kind = kind
        return request
    }

    func testURLs() throws {
        XCTAssertEqual(try UpstreamURL(parsing: "spdy://10.0.0.5:10250"), UpstreamURL(scheme: .spdy, host: "10.0.0.5", port: 10250))
        XCTAssertEqual(try UpstreamURL(parsing: "spdys://node-1"), UpstreamURL(scheme: .spdys, host: "node-1", port: 443))
        XCTAssertEqual(try UpstreamURL(parsing: "h2c+upgrade://gw:8080/"), UpstreamURL(scheme: .h2cUpgrade, host: "gw", port: 8080))
        let v6 = try UpstreamURL(parsing: "h2://[fd00::5]:8443")
        XCTAssertEqual(v6, UpstreamURL(scheme: .h2, host: "fd00::5", port: 8443))
        XCTAssertEqual(v6.authority, "[fd00::5]:8443")
        for bad in ["10.0.0.5:10250", "http://x:1", "spdy://x:0", "spdy://x:99999", "spdy://x:1/exec", "spdy://u:p@x:1", "spdy://:1"] {
            XCTAssertThrowsError(try UpstreamURL(parsing: bad), bad)
        }
    }

    func testWebSocketSchemesAreAccepted() throws {
        var settings = BackendSettings()
        settings.backend = "ws://127.0.0.1:1"
        let plain = try UpstreamConfig(settings)
        XCTAssertEqual(plain.url.scheme, .ws)
        XCTAssertNil(plain.sessionTLS)
        settings.backend = "wss://127.0.0.1:1"
        let secure = try UpstreamConfig(settings)
        XCTAssertEqual(secure.url.scheme, .wss)
        XCTAssertNotNil(secure.sessionTLS)
    }

    func testConfigurationErrors() {
        var settings = BackendSettings()
        settings.backend = "spdy://127.0.0.1:1"
        settings.caFile = "/etc/ssl/certs/ca-certificates.crt"
        XCTAssertThrowsError(try UpstreamConfig(settings), "a CA on a cleartext backend")
        settings.caFile = nil
        settings.path = "/exec/{namespace}/{pod}/{containr}"
        XCTAssertThrowsError(try UpstreamConfig(settings)) { XCTAssertTrue("\($0)".contains("{containr}")) }
        settings.path = UpstreamPathTemplate.kubelet
        settings.tokenFile = "/nonexistent/token"
        XCTAssertThrowsError(try UpstreamConfig(settings))
        settings.tokenFile = nil
        settings.inventory = "/nonexistent.yaml"
        XCTAssertThrowsError(try BackendFactory.make(settings, logger: .init(label: "t")))
        var local = BackendSettings()
        local.passthrough = true
        XCTAssertThrowsError(try BackendFactory.make(local, logger: .init(label: "t")))
    }

    func testKubeletTemplateWithFlagsAndEncodedCommand() throws {
        let template = try UpstreamPathTemplate(UpstreamPathTemplate.kubelet)
        let r = try request("/api/v1/namespaces/default/pods/web/exec?container=app&command=sh&command=-c&command=echo%20a%26b%3Bc&stdin=true&stdout=1&tty=true&stderr=true")
        XCTAssertNil(template.check(r))
        // stderr is dropped with a tty; only true flags; keys in url.Values.Encode order.
        XCTAssertEqual(template.expand(r), "/exec/default/web/app?command=sh&command=-c&command=echo%20a%26b%3Bc&input=1&output=1&tty=1")
    }

    func testApiserverTemplatePutsTheContainerInTheQuery() throws {
        let template = try UpstreamPathTemplate(UpstreamPathTemplate.apiserver)
        let r = try request("/exec/ns1/pod-1/c1?command=date&output=1&error=1")
        XCTAssertEqual(template.expand(r), "/api/v1/namespaces/ns1/pods/pod-1/exec?command=date&container=c1&error=1&output=1")
        let noContainer = try request("/api/v1/namespaces/ns1/pods/pod-1/exec?command=date&stdout=1")
        XCTAssertEqual(template.expand(noContainer), "/api/v1/namespaces/ns1/pods/pod-1/exec?command=date&output=1")
        XCTAssertEqual(try UpstreamPathTemplate(UpstreamPathTemplate.kubelet).check(noContainer)?.code, 400)
    }

    func testNodeProxyTemplateNeedsANode() throws {
        let template = try UpstreamPathTemplate(UpstreamPathTemplate.nodeProxy)
        let withNode = try request("/proxy/minions/node-7/exec/default/web/app?command=true&output=1")
        XCTAssertEqual(template.expand(withNode), "/api/v1/nodes/node-7/proxy/exec/default/web/app?command=true&output=1")
        let withoutNode = try request("/exec/default/web/app?command=true&output=1")
        XCTAssertEqual(template.check(withoutNode)?.code, 400)
    }

    func testAttachChangesTheTemplatesVerbOnly() throws {
        let template = try UpstreamPathTemplate("/api/v1/namespaces/{namespace}/pods/{pod}/exec")
        let r = try request("/exec/exec/web/app?output=1&command=x", kind: .attach)
        XCTAssertEqual(template.expand(r), "/api/v1/namespaces/exec/pods/web/attach?container=app&output=1")
    }

    func testHopByHopHeadersAreDropped() {
        let headers: HTTPHeaders = [("Host", "gw"), ("Connection", "keep-alive, X-Secret"), ("Keep-Alive", "timeout=5"),
                                    ("X-Secret", "s"), ("TE", "trailers"), ("Trailer", "X-T"), ("Transfer-Encoding", "chunked"),
                                    ("Upgrade", "h2c"), ("Proxy-Connection", "keep-alive"), ("Accept", "*/*"),
                                    ("X-Forwarded-For", "10.1.1.1"), ("Impersonate-Group", "system:masters"),
                                    ("X-Remote-User", "admin"), ("X-Forwarded-Host", "spoofed"), ("Authorization", "Bearer t"),
                                    ("Forwarded", "for=1.2.3.4"), ("Proxy-Authorization", "Basic eA==")]
        let head = HTTPRequestHead(method: "POST", target: "/api/v1/pods?watch=1", headers: headers)
        let out = ForwardedHeaders.upstreamRequest(head, authority: "up:10250", clientAddress: "127.0.0.1", clientTLS: false,
                                                   framing: .chunked(ChunkedScanner()))
        XCTAssertEqual(out.target, "/api/v1/pods?watch=1")
        XCTAssertEqual(out.headers.pairs.map { "\($0.name): \($0.value)" }, [
            "Host: up:10250", "Accept: */*", "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Host: gw",
            "X-Forwarded-Proto: http", "Transfer-Encoding: chunked", "Connection: close",
        ])
        let kept = ForwardedHeaders.upstreamRequest(head, authority: "up:10250", clientAddress: nil, clientTLS: true,
                                                    framing: .none, forwardAuthorization: true)
        XCTAssertEqual(kept.headers.pairs.map { "\($0.name): \($0.value)" }, [
            "Host: up:10250", "Accept: */*", "Authorization: Bearer t", "X-Forwarded-Host: gw", "X-Forwarded-Proto: https",
            "Connection: close",
        ])
    }

    func testChunkedScannerFindsTheEnd() throws {
        let body = Array("5;ext=1\r\nhello\r\n0000000000C\r\n hello world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT".utf8)
        // Whole, and split at every position: the end is found at the same byte.
        for split in 0...body.count {
            var scanner = ChunkedScanner()
            let a = try body[..<split].withUnsafeBytes { try scanner.scan($0) }
            XCTAssertEqual(a, min(split, body.count - 4))
            let b = try body[split...].withUnsafeBytes { try scanner.scan($0) }
            XCTAssertEqual(a + b, body.count - 4, "split \(split)")
            XCTAssertTrue(scanner.isComplete)
        }
        for bad in ["x\r\n", "5\r\nhelloX\r\n", "5\r\r\n", "1234567890123456\r\n"] {
            var scanner = ChunkedScanner()
            XCTAssertThrowsError(try Array(bad.utf8).withUnsafeBytes { try scanner.scan($0) }, bad)
        }
    }

    func testResponseFraming() throws {
        func framing(_ status: Int, _ headers: HTTPHeaders, method: String = "GET") throws -> String {
            "\(try BodyFraming.response(HTTPResponseHead(status: status, headers: headers), requestMethod: method))"
        }
        XCTAssertEqual(try framing(200, [("Content-Length", "12")]), "length(12)")
        XCTAssertEqual(try framing(200, [("Content-Length", "12")], method: "HEAD"), "none")
        XCTAssertEqual(try framing(204, []), "none")
        XCTAssertEqual(try framing(200, []), "untilClose")
        XCTAssertEqual(try framing(200, [("Transfer-Encoding", "gzip")]), "untilClose")
        XCTAssertTrue(try framing(200, [("Transfer-Encoding", "gzip, chunked")]).hasPrefix("chunked"))
        XCTAssertThrowsError(try framing(200, [("Content-Length", "1"), ("Content-Length", "2")]))
    }

    func testUpstreamRefusalsBecomeClientStatuses() {
        // A Status body passes on (message and reason); any other body is the message, with the
        // reason named after the code; a redirect is never followed.
        let status = #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"web\" is forbidden","reason":"Forbidden","code":403}"#
        XCTAssertEqual(ExecStatus.refusal(code: 403, body: Array(status.utf8)),
                       .failure(message: "pods \"web\" is forbidden", reason: "Forbidden", code: 403))
        XCTAssertEqual(ExecStatus.refusal(code: 403, body: Array("go away\n".utf8)),
                       .failure(message: "go away", reason: "Forbidden", code: 403))
        XCTAssertEqual(ExecStatus.refusal(code: 404, body: []),
                       .failure(message: "404 Not Found", reason: "NotFound", code: 404))
        guard case .failure(let message, _, let code) = ExecStatus.refusal(code: 302, body: Array("x".utf8)) else {
            return XCTFail()
        }
        XCTAssertEqual(code, 502)
        XCTAssertTrue(message.contains("redirect"), message)
    }

    func testDialErrorsAreWordedAsGoDoes() {
        XCTAssertEqual(DialError.errorText(ECONNREFUSED), "connection refused")
        XCTAssertEqual(DialError.errorText(ETIMEDOUT), "connection timed out")
    }
}
