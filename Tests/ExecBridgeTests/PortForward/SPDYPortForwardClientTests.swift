@testable import ExecBridge
import ExecModel
import Reactor
import SPDY
import XCTest

/// The SPDY port-forward client against a kubelet-shaped server made of the repo's SPDY codec:
/// the upgrade and stream headers client-go sends, bytes both ways on one connection carrying
/// several tunnels, and a refused port's error text passed on unchanged.
final class SPDYPortForwardClientTests: XCTestCase {
    func testTunnelsCarryBytesBothWaysAndTheErrorTextUnchanged() throws {
        try tunnelsCarryBytes(webSocket: false)
    }

    /// kubectl 1.31+: the same SPDY frames inside WebSocket binary messages.
    func testTheWebSocketTunnelCarriesTheSameTunnels() throws {
        try tunnelsCarryBytes(webSocket: true)
    }

    private func tunnelsCarryBytes(webSocket: Bool) throws {
        let run = PortForwardRun()
        let server = try FakeSPDYPortForwardServer(loop: run.loop, allowedPorts: [8080], webSocket: webSocket)
        var options = ExecClientOptions(authority: "127.0.0.1:\(server.port)", path: "/portForward/ns/pod",
                                        stdin: false, stdout: false, stderr: false, tty: false)
        options.headers = [("Authorization", "Bearer t0ken")]
        let client = ExecBridge.SPDYPortForwardClient(options: options, transport: webSocket ? .webSocketTunnel : .upgrade)
        client.start(loop: run.loop, address: try SocketAddress(host: "127.0.0.1", port: server.port))
        let big = patternBytes(300_000)
        run.run([(8080, big), (8080, Array("hello".utf8)), (9999, Array("x".utf8))]) { port, delegate in
            client.openTunnel(port: port, delegate: delegate) as ExecBridge.SPDYPortForwardTunnel
        }
        XCTAssertEqual(run.tunnels[0].received.count, big.count)
        XCTAssertEqual(fnv1a(run.tunnels[0].received), fnv1a(big))
        XCTAssertEqual(run.tunnels[0].status, .success)
        XCTAssertTrue(run.tunnels[0].halfClosed)
        XCTAssertEqual(run.tunnels[1].received, Array("hello".utf8))
        XCTAssertEqual(run.tunnels[2].failureMessage,
                       "error forwarding port 9999 to pod ns/pod, uid : dial tcp4 127.0.0.1:9999: connect: connection refused")
        XCTAssertEqual(run.tunnels[2].received, [])

        if webSocket {
            XCTAssertTrue(server.upgradeRequest.hasPrefix("GET /portForward/ns/pod HTTP/1.1\r\n"), server.upgradeRequest)
            XCTAssertTrue(server.upgradeRequest.contains("\r\nUpgrade: websocket"))
            XCTAssertTrue(server.upgradeRequest.contains("\r\nSec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n"))
        } else {
            XCTAssertTrue(server.upgradeRequest.hasPrefix("POST /portForward/ns/pod HTTP/1.1\r\n"), server.upgradeRequest)
            XCTAssertTrue(server.upgradeRequest.contains("\r\nUpgrade: SPDY/3.1"))
            XCTAssertTrue(server.upgradeRequest.contains("\r\nX-Stream-Protocol-Version: portforward.k8s.io"))
        }
        XCTAssertTrue(server.upgradeRequest.contains("\r\nAuthorization: Bearer t0ken"))
        // client-go's order and names: error then data, each with port and requestID; ids count from 0.
        let shapes = server.opened.map { [$0["streamtype"] ?? "", $0["port"] ?? "", $0["requestid"] ?? ""] }
        XCTAssertEqual(shapes.count, 6)
        for (index, request) in ["0", "1", "2"].enumerated() {
            let port = index == 2 ? "9999" : "8080"
            XCTAssertTrue(shapes.contains(["error", port, request]), "\(shapes)")
            XCTAssertTrue(shapes.contains(["data", port, request]), "\(shapes)")
            let error = shapes.firstIndex(of: ["error", port, request])!
            let data = shapes.firstIndex(of: ["data", port, request])!
            XCTAssertLessThan(error, data)
        }
        run.settle(until: { server.errorStreamsClosedByClient == 3 })
        XCTAssertEqual(server.errorStreamsClosedByClient, 3, "the client closes its side of each error stream")
        client.close()
        run.settle(seconds: 0.1)
    }

    func testARefusedUpgradeFailsEveryTunnelWithTheServersStatus() throws {
        let run = PortForwardRun()
        var accept: ((Int32) -> Void)?
        let listener = try Listener(loop: run.loop, address: SocketAddress(host: "127.0.0.1", port: 0)) { fd, _ in accept?(fd) }
        let refuser = Refuser()
        accept = { fd in
            let connection = Connection(loop: run.loop, fd: fd)
            connection.handler = refuser
        }
        let options = ExecClientOptions(authority: "127.0.0.1", path: "/portForward/ns/missing",
                                        stdin: false, stdout: false, stderr: false, tty: false)
        let client = ExecBridge.SPDYPortForwardClient(options: options)
        var started: ExecStatus??
        client.onStart = { started = .some($0) }
        client.start(loop: run.loop, address: try SocketAddress(host: "127.0.0.1", port: listener.address.port))
        run.run([(80, [])]) { port, delegate in client.openTunnel(port: port, delegate: delegate) as ExecBridge.SPDYPortForwardTunnel }
        XCTAssertEqual(run.tunnels[0].failureMessage, "pods \"missing\" not found")
        if case .some(.some(.failure(let message, _, let code))) = started {
            XCTAssertEqual(message, "pods \"missing\" not found")
            XCTAssertEqual(code, 404)
        } else {
            XCTFail("onStart did not report the refusal: \(String(describing: started))")
        }
    }
}

/// Answers any request with kubelet's 404 Status.
private final class Refuser: ConnectionHandler {
    func connectionDidRead(_ connection: Connection) {
        _ = connection.consumeInput { $0.count }
        let body = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"missing\" not found","reason":"NotFound","code":404}"#
        connection.write("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        connection.closeGracefully(linger: 1)
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {}
}
