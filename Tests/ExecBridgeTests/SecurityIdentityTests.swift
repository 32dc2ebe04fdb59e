@testable import ExecBridge
import ExecModel
import Foundation
import HTTP2
import XCTest

let aliceToken = "alice-Tok3n-4b1d9e0c7f2a"
let rootToken = "root-Tok3n-8e5f2a6c1d0b"
let securityTokens = """
\(aliceToken),alice,1001,"developers,team-a"
\(rootToken),root,0,system:masters

"""

/// Who the caller is, on every generation: bearer tokens on SPDY, HTTP/2 by prior knowledge and
/// h2c; client certificates (valid, signed by an unknown CA, expired) on SPDY and HTTP/2 over TLS.
final class SecurityIdentityTests: XCTestCase {
    private func bearer(_ token: String) -> [(name: String, value: String)] { [("Authorization", "Bearer " + token)] }

    func testValidTokenIdentifiesTheCallerOnEveryGeneration() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        for (index, wire) in SecurityWire.plain.enumerated() {
            let r = try SecurityRun.run(wire, port: gateway.port, headers: bearer(aliceToken))
            XCTAssertEqual(r.stdoutText, "hello\n", "\(wire)")
            XCTAssertEqual(r.status, .success, "\(wire)")
            let audit = gateway.lastAudit(count: index + 1)
            XCTAssertEqual(audit["user"] as? String, "alice", "\(wire)")
            XCTAssertEqual(audit["uid"] as? String, "1001", "\(wire)")
            XCTAssertEqual(audit["groups"] as? [String], ["developers", "team-a", "system:authenticated"], "\(wire)")
            XCTAssertEqual(audit["auth"] as? String, "token", "\(wire)")
        }
    }

    func testBadTokenIs401OnEveryGeneration() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        for wire in SecurityWire.plain {
            let r = try SecurityRun.run(wire, port: gateway.port, headers: bearer("not-a-token"))
            XCTAssertEqual(r.code, 401, "\(wire): \(String(describing: r.status))")
            XCTAssertEqual(r.message, "Unauthorized", "\(wire)")
            XCTAssertEqual(r.stdout, [], "\(wire)")
        }
    }

    func testNoCredentialsIs401WhenAnAuthenticatorIsConfigured() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        for wire in SecurityWire.plain {
            let r = try SecurityRun.run(wire, port: gateway.port)
            XCTAssertEqual(r.code, 401, "\(wire): \(String(describing: r.status))")
        }
    }

    func testNoCredentialsIsAnonymousWhenAllowed() throws {
        let gateway = try SecureGateway(tokens: securityTokens, allowAnonymous: true)
        for (index, wire) in SecurityWire.plain.enumerated() {
            let r = try SecurityRun.run(wire, port: gateway.port)
            XCTAssertEqual(r.status, .success, "\(wire)")
            let audit = gateway.lastAudit(count: index + 1)
            XCTAssertEqual(audit["user"] as? String, "system:anonymous")
            XCTAssertEqual(audit["groups"] as? [String], ["system:unauthenticated"])
            XCTAssertEqual(audit["auth"] as? String, "anonymous")
        }
    }

    /// The loopback demo default: no authenticator, anonymous callers may exec.
    func testLoopbackWithoutAuthenticationServesAnonymousCallers() throws {
        let gateway = try SecureGateway()
        for wire in SecurityWire.plain {
            XCTAssertEqual(try SecurityRun.run(wire, port: gateway.port).status, .success, "\(wire)")
        }
        // A token presented to a gateway without --token-file is not checked: the caller stays anonymous.
        let r = try SecurityRun.run(.spdy, port: gateway.port, headers: bearer("whatever"))
        XCTAssertEqual(r.status, .success)
        XCTAssertEqual(gateway.lastAudit(count: 4)["user"] as? String, "system:anonymous")
    }

    func testUnauthorizedCarriesTheBearerChallengeOverHTTP1AndHTTP2() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        let socket = try RawSocket(port: gateway.port)
        socket.send("POST \(SecurityRun.defaultPath) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nAuthorization: Bearer nope\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 401)
        XCTAssertTrue(response.head.contains("\r\nWWW-Authenticate: Bearer\r\n"), response.head)
        XCTAssertEqual(response.body, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#)

        let h2 = try RawHTTP2Exchange.request(port: gateway.port, path: SecurityRun.defaultPath,
                                              headers: [("authorization", "Bearer nope")])
        XCTAssertEqual(h2.responseHeaders.first(":status"), "401")
        XCTAssertEqual(h2.responseHeaders.first("www-authenticate"), "Bearer")
        XCTAssertTrue(String(decoding: h2.body, as: UTF8.self).contains(#""reason":"Unauthorized""#))
    }

    /// WebSocket clients (browsers) send the token as a subprotocol; it is checked before the
    /// upgrade (which this build then answers 501).
    func testWebSocketBearerSubprotocolIsChecked() throws {
        let gateway = try SecureGateway(tokens: securityTokens)
        func attempt(_ token: String) throws -> Int {
            let encoded = Data(token.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let socket = try RawSocket(port: gateway.port)
            socket.send("GET \(SecurityRun.defaultPath) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Protocol: v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.\(encoded)\r\n\r\n")
            return try XCTUnwrap(socket.readResponse()).status
        }
        XCTAssertEqual(try attempt("wrong"), 401)
        XCTAssertEqual(try attempt(aliceToken), 101)
        // The refusal is audited.
        let denied = gateway.auditLines(atLeast: 1)
        XCTAssertEqual(denied.first?["end"] as? String, "denied")
        XCTAssertEqual((denied.first?["client"] as? [String: Any])?["generation"] as? String, "WebSocket")
        XCTAssertEqual((denied.first?["client"] as? [String: Any])?["offered"] as? [String], ["v5.channel.k8s.io"])
    }

    // MARK: Client certificates

    func testVerifiedClientCertificateIdentifiesTheCallerOnEveryTLSGeneration() throws {
        let gateway = try SecureGateway(tokens: securityTokens, clientCA: true)
        var lines = 0
        for wire in SecurityWire.tls {
            let r = try SecurityRun.run(wire, port: gateway.port, certificate: "alice")
            XCTAssertEqual(r.status, .success, "\(wire): \(String(describing: r.status))")
            lines += 1
            let audit = gateway.lastAudit(count: lines)
            XCTAssertEqual(audit["user"] as? String, "alice", "\(wire)")
            XCTAssertEqual(audit["groups"] as? [String], ["developers", "team-a", "system:authenticated"], "\(wire)")
            XCTAssertEqual(audit["auth"] as? String, "x509", "\(wire)")
            XCTAssertNil(audit["uid"], "\(wire)")

            // The certificate wins over a token.
            XCTAssertEqual(try SecurityRun.run(wire, port: gateway.port, headers: bearer(rootToken), certificate: "alice").status, .success)
            lines += 1
            XCTAssertEqual(gateway.lastAudit(count: lines)["user"] as? String, "alice", "\(wire)")
        }
    }

    /// A certificate the gateway cannot verify (unknown CA, expired) is no identity: the request
    /// goes on as if it had none.
    func testUnverifiedCertificatesFallThroughToTokenOrAnonymous() throws {
        let gateway = try SecureGateway(tokens: securityTokens, clientCA: true)
        var lines = 0
        for wire in SecurityWire.tls {
            for certificate in ["impostor", "expired"] {
                let none = try SecurityRun.run(wire, port: gateway.port, certificate: certificate)
                XCTAssertEqual(none.code, 401, "\(wire) \(certificate): \(String(describing: none.status))")
                lines += 1
                let audit = gateway.lastAudit(count: lines)
                XCTAssertEqual(audit["end"] as? String, "denied")
                XCTAssertTrue(audit["user"] is NSNull, "\(wire) \(certificate)")

                let withToken = try SecurityRun.run(wire, port: gateway.port, headers: bearer(aliceToken), certificate: certificate)
                XCTAssertEqual(withToken.status, .success, "\(wire) \(certificate)")
                lines += 1
                let tokenAudit = gateway.lastAudit(count: lines)
                XCTAssertEqual(tokenAudit["user"] as? String, "alice", "\(wire) \(certificate)")
                XCTAssertEqual(tokenAudit["auth"] as? String, "token", "\(wire) \(certificate)")

                let badToken = try SecurityRun.run(wire, port: gateway.port, headers: bearer("nope"), certificate: certificate)
                XCTAssertEqual(badToken.code, 401, "\(wire) \(certificate)")
                lines += 1
            }
        }
    }

    func testAnonymousOverTLSWhenAllowed() throws {
        let gateway = try SecureGateway(clientCA: true, allowAnonymous: true)
        for (index, wire) in SecurityWire.tls.enumerated() {
            XCTAssertEqual(try SecurityRun.run(wire, port: gateway.port).status, .success, "\(wire)")
            XCTAssertEqual(gateway.lastAudit(count: index + 1)["user"] as? String, "system:anonymous")
        }
    }

    func testClientCertificatesAreIgnoredWithoutClientCA() throws {
        // A subject reaching the authenticator while no --client-ca is configured is not trusted.
        let authenticator = Authenticator(options: .init(certificates: false, anonymousAllowed: false), tokens: nil,
                                          logger: LogCapture().logger)
        var request = try XCTUnwrap(try ExecRouter.route(method: "POST", target: SecurityRun.defaultPath)?.get())
        var context = SecurityContexts.make()
        context.clientCertificate = .init(commonName: "root", organizations: ["system:masters"])
        XCTAssertEqual(authenticator.admit(&request, context: context)?.code, 401)
    }
}

