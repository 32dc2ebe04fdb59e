@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// A forwarding gateway (`--backend SCHEME://…`) in front of a local one whose inventory pod
/// lists a port served by a TCP echo server: a tunnel from a client generation crosses the
/// upstream generation with its bytes, and a refused port's text comes back unchanged.
final class UpstreamPortForwardTests: XCTestCase {
    func testSPDYClientThroughASPDYUpstream() throws { try tunnel(upstream: "spdy", client: .spdy) }
    func testWebSocketTunnelClientThroughASPDYUpstream() throws { try tunnel(upstream: "spdy", client: .wsTunnel) }
    func testWebSocketClientThroughASPDYUpstream() throws { try tunnel(upstream: "spdy", client: .ws) }
    func testSPDYClientThroughAWebSocketUpstream() throws { try tunnel(upstream: "ws", client: .spdy) }
    func testWebSocketTunnelClientThroughAWebSocketUpstream() throws { try tunnel(upstream: "ws", client: .wsTunnel) }
    func testWebSocketClientThroughAWebSocketUpstream() throws { try tunnel(upstream: "ws", client: .ws) }
    func testHTTP2ClientThroughASPDYUpstream() throws { try tunnel(upstream: "spdy", client: .h2) }
    func testHTTP2ClientThroughAWebSocketUpstream() throws { try tunnel(upstream: "ws", client: .h2) }
    func testSPDYClientThroughAnH2CUpstream() throws { try tunnel(upstream: "h2c", client: .spdy) }
    func testWebSocketTunnelClientThroughAnH2CUpstream() throws { try tunnel(upstream: "h2c", client: .wsTunnel) }
    func testWebSocketClientThroughAnH2CUpstream() throws { try tunnel(upstream: "h2c", client: .ws) }
    func testHTTP2ClientThroughAnH2CUpstream() throws { try tunnel(upstream: "h2c", client: .h2) }

    func testSPDYClientThroughAnH2CUpgradeUpstream() throws { try tunnel(upstream: "h2c+upgrade", client: .spdy) }
    func testHTTP2ClientThroughAnH2CUpgradeUpstream() throws { try tunnel(upstream: "h2c+upgrade", client: .h2) }

    /// TLS upstreams: the upstream gateway serves TLS with the test certificate, verified by name.
    func testSPDYClientThroughTLSUpstreams() throws {
        for scheme in ["spdys", "h2", "wss"] { try tunnel(upstream: scheme, client: .spdy, tls: true) }
    }

    enum ClientWire { case spdy, wsTunnel, h2, ws }

    private func tunnel(upstream scheme: String, client wire: ClientWire, tls: Bool = false,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        // The pod ends each connection itself (the WebSocket form has no half-close to wait for).
        let pod = try PodPortServer(serve: PodPortServer.replyAnnounced)
        let files = try TestCertificate.shared()
        let upstream = try PortForwardFixtures.gateway(podPorts: [pod.port]) { config in
            if tls { config.tls = try? TLSContext(certificate: files.cert, key: files.key) }
        }
        let gateway = try gatewayWithBackend("\(scheme)://127.0.0.1:\(upstream.port)") { settings in
            if tls {
                settings.caFile = files.cert
                settings.serverName = "localhost"
            }
        }
        let run = PortForwardRun()
        let address = try SocketAddress(host: "127.0.0.1", port: gateway.port)
        let options = ExecClientOptions(authority: "127.0.0.1:\(gateway.port)", path: PortForwardFixtures.apiserverPath,
                                        stdin: false, stdout: false, stderr: false, tty: false)
        let big = PodPortServer.announced(PortForwardFixtures.random(512 * 1024))
        let second = PodPortServer.announced(Array("second".utf8))
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
        run.run([(pod.port, big), (pod.port, second), (9, Array("x".utf8))], open: open, file: file, line: line)
        XCTAssertEqual(run.tunnels[0].received.count, big.count, file: file, line: line)
        XCTAssertEqual(fnv1a(run.tunnels[0].received), fnv1a(big), file: file, line: line)
        XCTAssertEqual(run.tunnels[0].status, .success, file: file, line: line)
        XCTAssertEqual(run.tunnels[1].received, second, file: file, line: line)
        let refusal = run.tunnels[2].failureMessage ?? "\(String(describing: run.tunnels[2].status)) \(String(describing: run.tunnels[2].ended))"
        XCTAssertTrue(refusal.hasPrefix("error forwarding port 9 to pod default/web"), refusal, file: file, line: line)
        close()
        run.settle(seconds: 0.1)
    }
}

extension PodPortServer {
    /// `bytes` after their length (8 bytes, big-endian): what `replyAnnounced` expects.
    static func announced(_ bytes: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bytes.count).bigEndian, Array.init) + bytes
    }

    /// Reads a length-announced message (`announced`) whole, sends it back and hangs up by itself,
    /// as a pod's server answers a request, whether or not the client half-closes.
    static let replyAnnounced: @Sendable (Int32) -> Void = { fd in
        var buffer = [UInt8](repeating: 0, count: 65536)
        var message: [UInt8] = []
        var expected = Int.max
        while message.count < expected {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            message.append(contentsOf: buffer[0..<n])
            if expected == .max, message.count >= 8 {
                expected = 8 + Int(message[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            }
        }
        var offset = 0
        while offset < message.count {
            let sent = message[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
        shutdown(fd, Int32(SHUT_WR))
    }
}
