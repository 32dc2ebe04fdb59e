@testable import ExecBridge
import ExecModel
import Foundation
import SPDY
import XCTest

/// `--trace-frames` writes no credential (issue 12): bearer tokens in `authorization`, cookies and
/// the WebSocket bearer subprotocol are redacted on every generation, and the file is 0600.
final class TraceRedactionTests: XCTestCase {
    private var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "execbridge-redact-\(getpid())-\(UUID().uuidString.prefix(8)).trace"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: path)
    }

    private func tracingHarness() throws -> GatewayHarness {
        let path = self.path
        return try GatewayHarness { config in try? config.traceFrames(to: path) }
    }

    private func trace() -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    private func mode() -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    private func runWithCredentials(_ wire: ExecRun.Wire, port: UInt16) -> ExecRun {
        let path = SessionCases.path(["echo", "hi"])
        let query = ExecRun.flags(of: path)
        var options = ExecClientOptions(authority: "127.0.0.1:\(port)", path: path, stdin: query.stdin,
                                        stdout: query.stdout, stderr: query.stderr, tty: query.tty)
        options.headers = [("Authorization", "Bearer SECRET-auth"), ("Cookie", "session=SECRET-cookie"),
                           ("Proxy-Authorization", "Basic SECRET-proxy")]
        return ExecRun().run(wire, port: port, path: path, optionsOverride: options)
    }

    func testHTTP2AndSPDYHeadersAreRedacted() throws {
        let harness = try tracingHarness()
        for wire in [ExecRun.Wire.h2Prior, .h2Upgrade, .spdy] {
            let run = runWithCredentials(wire, port: harness.port)
            XCTAssertEqual(run.stdoutText, "hi\n", "\(wire)")
        }
        withExtendedLifetime(harness) {}
        // A connection's block is written when the gateway's loop has seen it close, which may
        // come after the client returned: poll, with a deadline.
        var text = trace()
        let deadline = Date().addingTimeInterval(10)
        while !text.contains("# end connection 3"), Date() < deadline {
            usleep(10_000)
            text = trace()
        }
        XCTAssertTrue(text.contains("h:authorization=<redacted>"), text)
        XCTAssertTrue(text.contains("# connection 3"), "all three connections traced:\n\(text)")
        XCTAssertFalse(text.contains("SECRET"), text)
        XCTAssertEqual(mode(), 0o600)
    }

    func testExtendedConnectBearerSubprotocolIsRedacted() throws {
        let harness = try tracingHarness()
        let token = "SECRET-ws-token"
        let encoded = Data(token.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let client = ExtendedConnectClient(port: harness.port, path: SessionCases.path(["echo", "ws"]),
                                           offers: ["base64url.bearer.authorization.k8s.io." + encoded,
                                                    "Base64URL.Bearer.Authorization.K8S.IO." + encoded, "v5.channel.k8s.io"])
        XCTAssertEqual(client.text(1), "ws\n")
        withExtendedLifetime(harness) {}
        let text = trace()
        XCTAssertTrue(text.contains("base64url.bearer.authorization.k8s.io.<redacted>"), text)
        XCTAssertTrue(text.contains("v5.channel.k8s.io"), text)
        XCTAssertFalse(text.contains(encoded), text)
        XCTAssertFalse(text.contains("SECRET"), text)
        XCTAssertEqual(mode(), 0o600)
    }

    func testExistingFileBecomesPrivate() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("old".utf8),
                                                     attributes: [.posixPermissions: 0o644]))
        let sink = try FrameTraceSink(path: path)
        withExtendedLifetime(sink) {}
        XCTAssertEqual(mode(), 0o600)
        XCTAssertEqual(trace(), "", "truncated")
    }

    func testSPDYHeaderBlockFieldsAreRedacted() {
        // Clients send credentials in SYN_STREAM too (spdystream callers may add any header).
        var headers = SPDYHeaders()
        headers.add("authorization", "Bearer SECRET")
        headers.add("Cookie", "SECRET")
        headers.add("sec-websocket-protocol", "base64url.bearer.authorization.k8s.io.U0VDUkVU")
        headers.add("streamtype", "stdout")
        let fields = SPDYTraceDecoder.headerFields(headers)
        XCTAssertEqual(fields.map(\.text), ["<redacted>", "<redacted>", "base64url.bearer.authorization.k8s.io.<redacted>", "stdout"])
    }

    func testSecretHeaderValues() {
        func redacted(_ name: String, _ value: String) -> String { SecretHeaders.value(name: name, value: value) }
        XCTAssertEqual(redacted("Authorization", "Bearer abc"), "<redacted>")
        XCTAssertEqual(redacted("PROXY-AUTHORIZATION", "Basic abc"), "<redacted>")
        XCTAssertEqual(redacted("cookie", "a=b"), "<redacted>")
        XCTAssertEqual(redacted("content-type", "text/plain"), "text/plain")
        XCTAssertEqual(redacted("Sec-WebSocket-Protocol", "v5.channel.k8s.io,BASE64URL.bearer.authorization.k8s.io.dG9r"),
                       "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.<redacted>")
        XCTAssertEqual(redacted("sec-websocket-protocol", "v4.channel.k8s.io"), "v4.channel.k8s.io")
        XCTAssertTrue(SecretHeaders.isBearerSubprotocol(" base64url.Bearer.authorization.k8s.io.x"))
        XCTAssertFalse(SecretHeaders.isBearerSubprotocol("base64url.bearer"))
    }
}
