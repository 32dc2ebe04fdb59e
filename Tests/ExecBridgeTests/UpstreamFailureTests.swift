import Foundation
@testable import ExecBridge
import ExecModel
import Reactor
import XCTest

/// What the client sees when the upstream cannot be reached, refuses, redirects or dies. The
/// client's upgrade already happened when the upstream is asked, so every one of these arrives as
/// the session's status on the error channel — never as success.
final class UpstreamFailureTests: XCTestCase {
    static let clients: [ExecRun.Wire] = [.spdy, .h2Prior]

    private func exec(_ wire: ExecRun.Wire, port: UInt16, _ argv: [String] = ["echo", "never"],
                      versions: [ChannelVersion] = [.v4], onTick: ((ExecRun) -> Void)? = nil,
                      file: StaticString = #filePath, line: UInt = #line) -> ExecRun {
        let run = ExecRun()
        run.onTick = onTick
        return run.run(wire, port: port, path: SessionCases.path(argv), versions: versions, timeout: 30, file: file, line: line)
    }

    func testUnreachableUpstream() throws {
        let port = closedPort()
        for scheme in ["spdy", "h2c", "h2c+upgrade"] {
            let gateway = try gatewayWithBackend("\(scheme)://127.0.0.1:\(port)")
            for wire in Self.clients {
                let r = exec(wire, port: gateway.port)
                XCTAssertEqual(r.status, .failure(message: "error dialing backend: dial tcp 127.0.0.1:\(port): connect: connection refused",
                                                  reason: "ServiceUnavailable", code: 503), "\(wire) → \(scheme)")
                // A v2 client gets the same words as text.
                let old = exec(wire, port: gateway.port, versions: [.v2])
                XCTAssertEqual(old.status?.exitCode, nil)
                XCTAssertTrue(old.status?.message.contains("error dialing backend: dial tcp") ?? false, "\(String(describing: old.status))")
            }
        }
    }

    func testUpstreamRefusalKeepsItsCodeAndMessage() throws {
        let forbidden = RequestError.forbidden(#"pods "web" is forbidden: User "system:anonymous" cannot create resource "pods/exec""#)
        for scheme in [UpstreamScheme.spdy, .h2c, .h2cUpgrade] {
            let pair = try UpstreamPair(scheme)
            pair.seen.refuse(with: forbidden)
            for wire in Self.clients {
                let r = exec(wire, port: pair.gateway.port)
                XCTAssertEqual(r.status, .failure(message: forbidden.message, reason: "Forbidden", code: 403), "\(wire) → \(scheme)")
                XCTAssertEqual(r.stdout, [])
            }
            XCTAssertEqual(pair.seen.all.count, Self.clients.count)
        }
    }

    func testRawUpstream403WithAStatusBody() throws {
        let body = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Forbidden (user=kube-apiserver, verb=create, resource=nodes, subresource=proxy)","reason":"Forbidden","code":403}"#
        let server = try TinyHTTPServer { _ in
            TinyHTTPServer.response("403 Forbidden", headers: ["Content-Type: application/json"], body: Array(body.utf8))
        }
        for scheme in ["spdy", "h2c+upgrade"] {
            let gateway = try gatewayWithBackend("\(scheme)://127.0.0.1:\(server.port)")
            for wire in Self.clients {
                let r = exec(wire, port: gateway.port)
                XCTAssertEqual(r.status, .failure(message: "Forbidden (user=kube-apiserver, verb=create, resource=nodes, subresource=proxy)",
                                                  reason: "Forbidden", code: 403), "\(wire) → \(scheme)")
            }
        }
        // The upgrade request it got was a kubelet's: the path, the flags, the versions.
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertTrue(request.requestLine.hasPrefix("POST /exec/default/web/app?command=echo&command=never&error=1&output=1 HTTP/1.1"), request.requestLine)
    }

    func testPlainTextRefusalAndRedirect() throws {
        let server = try TinyHTTPServer { request in
            if request.requestLine.contains("/exec/default/moved/") {
                return TinyHTTPServer.response("302 Found", headers: ["Location: http://elsewhere/exec"], body: [])
            }
            return TinyHTTPServer.response("401 Unauthorized", headers: ["Content-Type: text/plain"], body: Array("Unauthorized\n".utf8))
        }
        let gateway = try gatewayWithBackend("spdy://127.0.0.1:\(server.port)")
        for wire in Self.clients {
            let r = exec(wire, port: gateway.port)
            XCTAssertEqual(r.status, .failure(message: "Unauthorized", reason: "Unauthorized", code: 401), "\(wire)")
            let moved = ExecRun().run(wire, port: gateway.port, path: SessionCases.path(["true"], form: "/exec/default/moved/app"),
                                      versions: [.v4])
            guard case .failure(let message, _, let code)? = moved.status else { return XCTFail("\(String(describing: moved.status))") }
            XCTAssertEqual(code, 502)
            XCTAssertTrue(message.contains("redirect"), message)
        }
    }

    func testUpstreamDyingMidStreamIsNeverSuccess() throws {
        for scheme in [UpstreamScheme.spdy, .h2c] {
            for (client, upstream) in [([ChannelVersion.v4], nil), ([.v2], nil), ([.v4], [ChannelVersion.v2])] as [([ChannelVersion], [ChannelVersion]?)] {
                let pair = try UpstreamPair(scheme, relayed: true, settings: { $0.versions = upstream })
                for wire in Self.clients {
                    var cut = false
                    let r = exec(wire, port: pair.gateway.port, ["sh", "-c", "echo started; sleep 20"], versions: client) { run in
                        if !cut && run.stdoutText.contains("started") {
                            cut = true
                            pair.relay?.cut() // the upstream connection ends with no status
                        }
                    }
                    let label = "\(wire) → \(scheme.rawValue), client \(client), upstream \(upstream ?? [.v4])"
                    XCTAssertTrue(cut, label)
                    XCTAssertEqual(r.stdoutText, "started\n", label)
                    XCTAssertEqual(r.status, .internalError("lost connection to backend"), label)
                }
            }
        }
    }
}
