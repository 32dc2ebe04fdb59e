@testable import ExecBridge
import ExecModel
import Reactor
import XCTest

/// A forwarding gateway (`--backend SCHEME://…`) in front of a local one whose inventory pod
/// lists a port served by a TCP echo server: a tunnel from a client generation crosses the
/// upstream generation with its bytes, and a refused port's text comes back unchanged.
final class UpstreamPortForwardTests: XCTestCase {
    func testSPDYClientThroughASPDYUpstream() throws { try tunnel(upstream: "spdy", client: .spdy) }

    enum ClientWire { case spdy, wsTunnel, h2, ws }

    private func tunnel(upstream scheme: String, client wire: ClientWire,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let upstream = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let gateway = try gatewayWithBackend("\(scheme)://127.0.0.1:\(upstream.port)")
        let run = PortForwardRun()
        let address = try SocketAddress(host: "127.0.0.1", port: gateway.port)
        let options = ExecClientOptions(authority: "127.0.0.1:\(gateway.port)", path: PortForwardFixtures.apiserverPath,
                                        stdin: false, stdout: false, stderr: false, tty: false)
        let big = PortForwardFixtures.random(512 * 1024)
        var close: () -> Void = {}
        let open: (UInt16, SessionEndpointDelegate) -> SessionEndpoint
        switch wire {
        case .spdy, .wsTunnel:
            let client = ExecBridge.SPDYPortForwardClient(options: options, transport: wire == .spdy ? .upgrade : .webSocketTunnel)
            client.start(loop: run.loop, address: address)
            close = { client.close() }
            open = { client.openTunnel(port: $0, delegate: $1) as ExecBridge.SPDYPortForwardTunnel }
        case .h2:
            let client = HTTP2PortForwardClient(options: options, transport: .priorKnowledge)
            client.start(loop: run.loop, address: address)
            close = { client.close() }
            open = { client.openTunnel(port: $0, delegate: $1) as HTTP2PortForwardTunnel }
        case .ws:
            open = { port, delegate in
                var options = options
                options.path = PortForwardPath.withPorts(options.path, [port])
                let client = WebSocketPortForwardClient(options: options, port: port, delegate: delegate)
                client.start(loop: run.loop, address: address)
                return client
            }
        }
        run.run([(pod.port, big), (pod.port, Array("second".utf8)), (9, Array("x".utf8))], open: open, file: file, line: line)
        XCTAssertEqual(run.tunnels[0].received.count, big.count, file: file, line: line)
        XCTAssertEqual(fnv1a(run.tunnels[0].received), fnv1a(big), file: file, line: line)
        XCTAssertEqual(run.tunnels[0].status, .success, file: file, line: line)
        XCTAssertEqual(run.tunnels[1].received, Array("second".utf8), file: file, line: line)
        let refusal = run.tunnels[2].failureMessage ?? "\(String(describing: run.tunnels[2].status)) \(String(describing: run.tunnels[2].ended))"
        XCTAssertTrue(refusal.hasPrefix("error forwarding port 9 to pod default/web"), refusal, file: file, line: line)
        close()
        run.settle(seconds: 0.1)
    }
}
