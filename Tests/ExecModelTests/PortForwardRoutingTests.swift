import XCTest
import ExecModel

/// The port-forward path forms, ports and request IDs (docs/protocol.md, "Port-forward").
final class PortForwardRoutingTests: XCTestCase {
    private func routed(_ target: String) -> ExecRequest? {
        guard case .success(let request)? = ExecRouter.route(method: "POST", target: target) else { return nil }
        return request
    }

    private func refusal(_ target: String) -> String? {
        guard case .failure(let error)? = ExecRouter.route(method: "GET", target: target) else { return nil }
        return error.message
    }

    func testEveryPathFormNamesAPod() throws {
        let forms: [(String, PathForm, String?)] = [
            ("/portForward/ns-1/web", .kubelet, nil),
            ("/portforward/ns-1/web", .kubelet, nil),
            ("/proxy/nodes/node-1/portForward/ns-1/web", .currentProxy, "node-1"),
            ("/proxy/minions/node-1/portForward/ns-1/web", .legacyProxy, "node-1"),
            ("/api/v1/proxy/nodes/node-1/portForward/ns-1/web", .currentProxy, "node-1"),
            ("/api/v1/nodes/node-1/proxy/portForward/ns-1/web", .nodeProxy, "node-1"),
            ("/api/v1/namespaces/ns-1/pods/web/portforward", .apiserver, nil),
        ]
        for (path, form, node) in forms {
            let request = try XCTUnwrap(routed(path + "?ports=8080"), path)
            XCTAssertEqual(request.kind, .portForward, path)
            XCTAssertEqual(request.pathForm, form, path)
            XCTAssertEqual(request.target, ExecTarget(node: node, namespace: "ns-1", pod: "web", container: nil), path)
            XCTAssertEqual(request.ports, [8080], path)
            XCTAssertEqual(ExecRouter.kind(ofTarget: path), .portForward, path)
        }
        let withUID = try XCTUnwrap(routed("/portForward/ns-1/web/0b9c-11ef"))
        XCTAssertEqual(withUID.target.podUID, "0b9c-11ef")
        XCTAssertNil(withUID.target.container)
        // SPDY names ports per stream: none in the URL is fine.
        XCTAssertEqual(routed("/portForward/ns-1/web")?.ports, [])
        // A container segment is no port-forward path.
        XCTAssertNil(ExecRouter.route(method: "POST", target: "/portForward/ns-1/web/uid/app/extra"))
    }

    func testPortsFromEitherKeyRepeatedOrCommaSeparated() {
        XCTAssertEqual(routed("/portForward/ns/web?ports=80&ports=8080,9090&port=1")?.ports, [80, 8080, 9090, 1])
        XCTAssertEqual(refusal("/portForward/ns/web?ports=0"), #"port "0" must be > 0"#)
        XCTAssertEqual(refusal("/portForward/ns/web?ports=65536"),
                       #"unable to parse "65536" as a port: must be a decimal number from 1 to 65535"#)
        XCTAssertEqual(refusal("/portForward/ns/web?ports=%2B80"),
                       #"unable to parse "+80" as a port: must be a decimal number from 1 to 65535"#)
        XCTAssertEqual(refusal("/portForward/ns/web?ports=80,"),
                       #"unable to parse "" as a port: must be a decimal number from 1 to 65535"#)
        XCTAssertEqual(refusal("/portForward/ns/web?ports="), #"query parameter "port" cannot be empty"#)
        let many = (1...129).map { "ports=\($0)" }.joined(separator: "&")
        XCTAssertEqual(refusal("/portForward/ns/web?" + many), "at most 128 ports may be forwarded in one request")
        XCTAssertTrue(refusal("/portForward/ns/Web")?.hasPrefix(#"invalid pod name "Web": "#) == true)
    }

    func testRequestIDs() {
        XCTAssertTrue(PortForwardPorts.isValidRequestID("0"))
        XCTAssertTrue(PortForwardPorts.isValidRequestID("a.B_c-9"))
        XCTAssertTrue(PortForwardPorts.isValidRequestID(String(repeating: "x", count: 32)))
        XCTAssertFalse(PortForwardPorts.isValidRequestID(""))
        XCTAssertFalse(PortForwardPorts.isValidRequestID(String(repeating: "x", count: 33)))
        XCTAssertFalse(PortForwardPorts.isValidRequestID("a b"))
        XCTAssertFalse(PortForwardPorts.isValidRequestID("a/b"))
        XCTAssertFalse(PortForwardPorts.isValidRequestID("é"))
    }

    func testWebSocketPortPrefixIsLittleEndian() {
        XCTAssertEqual(PortForwardPorts.webSocketPrefix(8080), [0x90, 0x1f])
        XCTAssertEqual(PortForwardPorts.webSocketPrefix(1), [0x01, 0x00])
        XCTAssertEqual(PortForwardPorts.webSocketPrefix(65535), [0xff, 0xff])
    }

    func testSPDYNegotiation() {
        XCTAssertEqual(try PortForwardProtocol.negotiateSPDY(offered: ["portforward.k8s.io"]).get(), "portforward.k8s.io")
        XCTAssertEqual(try PortForwardProtocol.negotiateSPDY(offered: []).get(), nil)
        guard case .failure(let error) = PortForwardProtocol.negotiateSPDY(offered: ["v4.channel.k8s.io"]) else {
            return XCTFail("negotiated")
        }
        XCTAssertEqual(error.code, 403)
        XCTAssertEqual(error.message, "unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io], server accepts [portforward.k8s.io]")
    }

    func testWebSocketNegotiation() {
        XCTAssertEqual(try PortForwardWebSocketForm.negotiate([]).get(), .channels(base64: false, echoed: nil))
        XCTAssertEqual(try PortForwardWebSocketForm.negotiate(["SPDY/3.1+portforward.k8s.io", "v4.channel.k8s.io"]).get(), .tunnel)
        XCTAssertEqual(try PortForwardWebSocketForm.negotiate(["x", "v4.base64.channel.k8s.io"]).get(),
                       .channels(base64: true, echoed: "v4.base64.channel.k8s.io"))
        guard case .failure(let error) = PortForwardWebSocketForm.negotiate(["v5.channel.k8s.io",
                                                                            "base64url.bearer.authorization.k8s.io.c2VjcmV0"]) else {
            return XCTFail("negotiated")
        }
        XCTAssertEqual(error.code, 403)
        XCTAssertEqual(error.message, "requested protocol(s) are not supported: [v5.channel.k8s.io]; supports [SPDY/3.1+portforward.k8s.io v4.channel.k8s.io v4.base64.channel.k8s.io]")
    }

    func testTunnelStatusText() {
        let target = ExecTarget(namespace: "ns", pod: "web", container: nil)
        let status = ExecStatus.portForwardFailure(port: 9999, target: target, "port not listed in the inventory")
        XCTAssertEqual(status.portForwardErrorText, "error forwarding port 9999 to pod ns/web: port not listed in the inventory")
        XCTAssertNil(ExecStatus.success.portForwardErrorText)
    }
}

final class PortForwardCommandPathTests: XCTestCase {
    func testAMisshapenPortForwardPathIsA404NotAnUnservedCommand() {
        XCTAssertNil(ExecRouter.route(method: "POST", target: "/portForward/ns"))
        XCTAssertEqual(CommandPaths.command(in: "/portForward/ns"), "portforward")
        let refusal = CommandPaths.refusal("portforward")
        XCTAssertEqual(refusal.code, 404)
        XCTAssertEqual(refusal.message, "not a port-forward path this gateway serves: expected /portForward/{namespace}/{pod} or an apiserver or node-proxy form")
    }
}
