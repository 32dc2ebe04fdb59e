@testable import ExecBridge
import Foundation
import Glibc
import XCTest

/// `execbridge port-forward` against a local gateway whose inventory pod lists a port served by
/// a TCP echo server the test runs: bytes with checksum, a port the pod does not list refused on
/// stderr (kubectl's line), the listener still serving after it, SIGTERM exits 0.
final class PortForwardCLIGatewayTests: XCTestCase {
    func testSPDY() throws { try forward(protocol: "spdy") }
    func testWebSocketTunnel() throws { try forward(protocol: "ws-tunnel") }
    func testWebSocket() throws { try forward(protocol: "ws") }
    func testHTTP2() throws { try forward(protocol: "h2") }
    func testHTTP2ByUpgrade() throws { try forward(protocol: "h2c-upgrade") }

    /// Both directions at once: the pod echoes while the upload still runs (and the upload starts
    /// before the gateway's connection to the pod is up, which once left the client paused for ever).
    func testSPDYFullDuplexEcho() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let gateway = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let url = "http://127.0.0.1:\(gateway.port)\(PortForwardFixtures.kubeletPath)"
        let cli = try PortForwardProcess([url, ":\(pod.port)"], expecting: [pod.port])
        for _ in 0..<3 {
            let data = PortForwardFixtures.random(1 << 20)
            let echoed = try exchange(throughLocalPort: cli.localPorts[pod.port]!, data)
            XCTAssertEqual(echoed.count, data.count)
            XCTAssertEqual(fnv1a(echoed), fnv1a(data))
        }
        XCTAssertEqual(cli.stop(), 0)
    }

    private func forward(protocol wire: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let pod = try PodPortServer(serve: PodPortServer.replyAnnounced)
        let gateway = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let url = "http://127.0.0.1:\(gateway.port)\(PortForwardFixtures.apiserverPath)"
        let cli = try PortForwardProcess(["--protocol", wire, url, ":\(pod.port)", ":9"], expecting: [pod.port, 9])
        let data = PodPortServer.announced(PortForwardFixtures.random(1 << 20))
        let echoed = try exchange(throughLocalPort: cli.localPorts[pod.port]!, data)
        XCTAssertEqual(echoed.count, data.count, file: file, line: line)
        XCTAssertEqual(fnv1a(echoed), fnv1a(data), file: file, line: line)

        let refused = cli.localPorts[9]!
        XCTAssertEqual(try exchange(throughLocalPort: refused, Array("x".utf8)), [], file: file, line: line)
        XCTAssertTrue(cli.waitForStderr(containing: "an error occurred forwarding \(refused) -> 9: error forwarding port 9 to pod default/web"),
                      cli.stderrText, file: file, line: line)

        let again = PodPortServer.announced(Array("still here".utf8))
        XCTAssertEqual(try exchange(throughLocalPort: cli.localPorts[pod.port]!, again), again, cli.stderrText, file: file, line: line)
        XCTAssertEqual(cli.stop(), 0, file: file, line: line)
        // kubectl's lines: the listener, then one per accepted connection naming the local port.
        XCTAssertTrue(cli.stdoutText.contains("Forwarding from 127.0.0.1:\(refused) -> 9\n"), cli.stdoutText, file: file, line: line)
        XCTAssertTrue(cli.stdoutText.contains("Handling connection for \(refused)\n"), cli.stdoutText, file: file, line: line)
    }
}
