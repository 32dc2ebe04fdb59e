import Foundation
@testable import ExecBridge
import ExecModel
import Reactor
import XCTest

/// What the upstream receives (path, query, versions, credentials), and TLS toward it.
final class UpstreamRequestTests: XCTestCase {
    private func echo(_ pair: UpstreamPair, _ wire: ExecRun.Wire = .spdy, versions: [ChannelVersion] = [.v4],
                      form: String = "/proxy/nodes/n1/exec/default/web/app",
                      file: StaticString = #filePath, line: UInt = #line) -> ExecRun {
        ExecRun().run(wire, port: pair.gateway.port, path: SessionCases.path(["sh", "-c", "echo hello"], form: form),
                      versions: versions, file: file, line: line)
    }

    func testKubeletPathQueryAndEveryVersionOffered() throws {
        for (scheme, offered) in [(UpstreamScheme.spdy, ["v4", "v3", "v2", "channel"]), (.h2c, ["v5", "v4", "v3", "v2", "channel"])] {
            let pair = try UpstreamPair(scheme)
            let r = echo(pair, .spdy, versions: [.v2])
            XCTAssertEqual(r.stdoutText, "hello\n")
            XCTAssertEqual(r.status, .success)
            let seen = try XCTUnwrap(pair.seen.last)
            XCTAssertEqual(seen.target, "/exec/default/web/app?command=sh&command=-c&command=echo%20hello&error=1&output=1")
            // The client offered v2 only; the upstream is offered every version its generation has.
            XCTAssertEqual(seen.header("x-stream-protocol-version").map { String($0.prefix { $0 != "." }) }, offered, "\(scheme)")
            XCTAssertTrue(seen.header("user-agent").first?.hasPrefix("execbridge/") ?? false)
            XCTAssertEqual(seen.header("authorization"), [])
        }
    }

    func testApiserverAndNodeProxyTemplates() throws {
        let apiserver = try UpstreamPair(.spdy, settings: { $0.path = UpstreamPathTemplate.apiserver })
        XCTAssertEqual(echo(apiserver).stdoutText, "hello\n")
        XCTAssertEqual(apiserver.seen.last?.target,
                       "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20hello&container=app&error=1&output=1")

        let nodeProxy = try UpstreamPair(.h2c, settings: { $0.path = UpstreamPathTemplate.nodeProxy })
        XCTAssertEqual(echo(nodeProxy, .h2Prior, form: "/proxy/minions/node-7/exec/default/web/app").stdoutText, "hello\n")
        XCTAssertEqual(nodeProxy.seen.last?.target,
                       "/api/v1/nodes/node-7/proxy/exec/default/web/app?command=sh&command=-c&command=echo%20hello&error=1&output=1")
        // A request without a node cannot fill {node}: refused before any upgrade, nothing sent upstream.
        let count = nodeProxy.seen.all.count
        let refused = echo(nodeProxy, .spdy, form: "/exec/default/web/app")
        XCTAssertEqual(refused.status?.exitCode, nil)
        guard case .failure(let message, _, let code)? = refused.status else { return XCTFail("\(String(describing: refused.status))") }
        XCTAssertEqual(code, 400)
        XCTAssertTrue(message.contains("node"), message)
        XCTAssertEqual(nodeProxy.seen.all.count, count)
    }

    func testBearerTokenAndImpersonation() throws {
        let alice = Identity(user: "alice", uid: "u-1", groups: ["dev", "ops"])
        let pair = try UpstreamPair(.spdy, settings: { $0.token = "s3cret"; $0.impersonate = true },
                                    gatewayConfig: { $0.pipelineExtensions.append(IdentityExtension(identity: alice)) })
        XCTAssertEqual(echo(pair).status, .success)
        let seen = try XCTUnwrap(pair.seen.last)
        XCTAssertEqual(seen.header("authorization"), ["Bearer s3cret"])
        XCTAssertEqual(seen.header("impersonate-user"), ["alice"])
        XCTAssertEqual(seen.header("impersonate-uid"), ["u-1"])
        XCTAssertEqual(seen.header("impersonate-group"), ["dev", "ops"])

        let file = NSTemporaryDirectory() + "execbridge-token-\(getpid())"
        try "from-a-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fromFile = try UpstreamPair(.h2c, settings: { $0.tokenFile = file })
        XCTAssertEqual(echo(fromFile, .h2Prior).status, .success)
        XCTAssertEqual(fromFile.seen.last?.header("authorization"), ["Bearer from-a-file"])
        XCTAssertEqual(fromFile.seen.last?.header("impersonate-user"), [])
    }

    // MARK: TLS

    private func tlsPair(_ scheme: UpstreamScheme, settings: @escaping (inout BackendSettings) -> Void) throws -> UpstreamPair {
        let files = try TestCertificate.shared()
        return try UpstreamPair(scheme, settings: settings, upstreamConfig: { config in
            config.tls = try? TLSContext(certificate: files.cert, key: files.key, clientCA: files.cert)
        })
    }

    func testTLSUpstreamsVerifyTheServerAndPresentTheClientCertificate() throws {
        let files = try TestCertificate.shared()
        // spdys by IP (the certificate has IP:127.0.0.1), h2 by name (DNS:localhost).
        let spdys = try tlsPair(.spdys) { $0.caFile = files.cert; $0.certFile = files.cert; $0.keyFile = files.key }
        let h2 = try tlsPair(.h2) { $0.caFile = files.cert; $0.serverName = "localhost"; $0.certFile = files.cert; $0.keyFile = files.key }
        for pair in [spdys, h2] {
            for wire in [ExecRun.Wire.spdy, .h2Prior] {
                let r = echo(pair, wire)
                XCTAssertEqual(r.stdoutText, "hello\n", "\(wire)")
                XCTAssertEqual(r.status, .success, "\(wire)")
            }
            XCTAssertEqual(pair.seen.last?.clientCommonName, "localhost")
        }
    }

    func testTLSRefusesAWrongNameOrAnUnknownCA() throws {
        let files = try TestCertificate.shared()
        let wrongName = try tlsPair(.h2) { $0.caFile = files.cert; $0.serverName = "other.example" }
        let unknownCA = try tlsPair(.spdys) { _ in }
        for pair in [wrongName, unknownCA] {
            let r = echo(pair, .spdy)
            guard case .failure(let message, _, let code)? = r.status else { return XCTFail("\(String(describing: r.status))") }
            XCTAssertEqual(code, 503)
            XCTAssertTrue(message.hasPrefix("error dialing backend: tls: handshake with 127.0.0.1:"), message)
            XCTAssertEqual(pair.seen.all.count, 0)
        }
        let insecure = try tlsPair(.spdys) { $0.insecureSkipTLSVerify = true }
        XCTAssertEqual(echo(insecure, .h2Prior).status, .success)
    }
}
