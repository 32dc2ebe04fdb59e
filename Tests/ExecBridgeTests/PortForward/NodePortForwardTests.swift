@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// Port-forward through a `{node}` backend: each tunnel goes to the node its path names, like an
/// exec session, and an unknown node is the 404 before any upgrade.
final class NodePortForwardTests: XCTestCase {
    func testATunnelReachesItsNodeAndAnUnknownNodeIs404() throws {
        let pod = try PodPortServer(serve: PodPortServer.replyAnnounced)
        let upstream = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let gateway = try NodeGateway("spdy://{node}:\(upstream.port)", nodes: "node-a: 127.0.0.1\n")
        let path = "/proxy/nodes/node-a/portForward/default/web"

        let run = PortForwardRun()
        let options = ExecClientOptions(authority: "127.0.0.1:\(gateway.port)", path: path,
                                        stdin: false, stdout: false, stderr: false, tty: false)
        let client = ExecBridge.SPDYPortForwardClient(options: options, transport: .upgrade)
        client.start(loop: run.loop, address: try SocketAddress(host: "127.0.0.1", port: gateway.port))
        let message = PodPortServer.announced(PortForwardFixtures.random(64 * 1024))
        run.run([(pod.port, message)]) { client.openTunnel(port: $0, delegate: $1) as ExecBridge.SPDYPortForwardTunnel }
        XCTAssertEqual(run.tunnels[0].received, message)
        XCTAssertEqual(run.tunnels[0].status, .success)
        client.close()
        run.settle(seconds: 0.1)

        let socket = try RawSocket(port: gateway.port)
        socket.send("POST /proxy/nodes/node-b/portForward/default/web HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n")
        let answer = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(answer.status, 404, answer.head)
        XCTAssertTrue(answer.body.contains(#"nodes \"node-b\" not found"#), answer.body)
    }
}
