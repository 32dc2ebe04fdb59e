@testable import ExecBridge
import ExecModel
import HTTP2
import Reactor
import XCTest

/// The HTTP/2 port-forward client (pfwire §4) against a fake made of the repo's HTTP/2 codec: the
/// request streams' headers, tunnels sharing one connection with bytes both ways, a refused
/// port's text unchanged, a refused stream's Status.
final class HTTP2PortForwardClientTests: XCTestCase {
    func testTunnelsShareOneConnectionAndCarryTheirBytesAndErrors() throws {
        let run = PortForwardRun()
        let server = try FakeHTTP2PortForwardServer(loop: run.loop, allowedPorts: [8080])
        var options = ExecClientOptions(authority: "127.0.0.1:\(server.port)", path: "/api/v1/namespaces/ns/pods/pod/portforward",
                                        stdin: false, stdout: false, stderr: false, tty: false)
        options.headers = [("Authorization", "Bearer t0ken")]
        let client = HTTP2PortForwardClient(options: options, transport: .priorKnowledge)
        client.start(loop: run.loop, address: try SocketAddress(host: "127.0.0.1", port: server.port))
        let big = patternBytes(700_000)
        run.run([(8080, big), (8080, Array("hello".utf8)), (9999, Array("x".utf8))]) { port, delegate in
            client.openTunnel(port: port, delegate: delegate) as HTTP2PortForwardTunnel
        }
        XCTAssertEqual(run.tunnels[0].received.count, big.count)
        XCTAssertEqual(fnv1a(run.tunnels[0].received), fnv1a(big))
        XCTAssertEqual(run.tunnels[0].status, .success)
        XCTAssertTrue(run.tunnels[0].halfClosed)
        XCTAssertEqual(run.tunnels[1].received, Array("hello".utf8))
        XCTAssertEqual(run.tunnels[2].failureMessage,
                       "error forwarding port 9999 to pod ns/pod, uid : dial tcp4 127.0.0.1:9999: connect: connection refused")
        XCTAssertEqual(server.requests.count, 6)
        for request in server.requests {
            XCTAssertEqual(request.first(":method"), "POST")
            XCTAssertEqual(request.first(":path"), "/api/v1/namespaces/ns/pods/pod/portforward")
            XCTAssertEqual(request.first("authorization"), "Bearer t0ken")
            let id = request.first("requestid") ?? ""
            XCTAssertTrue((1...32).contains(id.count) && id.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }, id)
        }
        let shapes = server.requests.map { [$0.first("streamtype") ?? "", $0.first("port") ?? "", $0.first("requestid") ?? ""] }
        XCTAssertEqual(Set(shapes.map { $0[2] }).count, 3, "one requestid per tunnel: \(shapes)")
        for shape in shapes where shape[0] == "data" {
            let error = shapes.firstIndex(of: ["error", shape[1], shape[2]])
            XCTAssertNotNil(error, "\(shapes)")
            XCTAssertLessThan(error ?? .max, shapes.firstIndex(of: shape)!, "error stream first")
        }
        client.close()
        run.settle(seconds: 0.1)
    }

    func testARefusedTunnelEndsWithTheServersStatus() throws {
        let run = PortForwardRun()
        let server = try FakeHTTP2PortForwardServer(loop: run.loop, allowedPorts: [8080])
        let options = ExecClientOptions(authority: "127.0.0.1", path: "/portForward/ns/missing",
                                        stdin: false, stdout: false, stderr: false, tty: false)
        let client = HTTP2PortForwardClient(options: options, transport: .priorKnowledge)
        client.start(loop: run.loop, address: try SocketAddress(host: "127.0.0.1", port: server.port))
        run.run([(8080, Array("x".utf8))]) { port, delegate in client.openTunnel(port: port, delegate: delegate) as HTTP2PortForwardTunnel }
        guard case .failure(let message, let reason, let code)? = run.tunnels[0].status else {
            return XCTFail("\(String(describing: run.tunnels[0].status))")
        }
        XCTAssertEqual(message, "pods \"missing\" not found")
        XCTAssertEqual(reason, "NotFound")
        XCTAssertEqual(code, 404)
        client.close()
        run.settle(seconds: 0.1)
    }
}
