@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import Reactor
import XCTest

/// Backpressure end to end through a forwarding gateway: a client that stops reading holds the
/// pod's sender back (what the pod manages to send stays far below what it wants to), and every
/// byte arrives, in order, once the client reads again.
final class UpstreamPortForwardBackpressureTests: XCTestCase {
    func testAClientThatStopsReadingHoldsThePodBackThroughASPDYUpstream() throws {
        try holdsBack(upstream: "spdy")
    }

    func testAClientThatStopsReadingHoldsThePodBackThroughAnH2CUpstream() throws {
        try holdsBack(upstream: "h2c")
    }

    private func holdsBack(upstream scheme: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let total = 64 << 20
        let sent = LockedBox(0)
        let pod = try PodPortServer { fd in
            let chunk = patternBytes(64 * 1024, seed: 9)
            var offset = 0
            while offset < total {
                let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, total - offset), Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                offset += n
                sent.update { $0 = offset }
            }
            shutdown(fd, Int32(SHUT_WR))
        }
        let upstream = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let gateway = try gatewayWithBackend("\(scheme)://127.0.0.1:\(upstream.port)")
        let run = PortForwardRun()
        let options = ExecClientOptions(authority: "127.0.0.1:\(gateway.port)", path: PortForwardFixtures.kubeletPath,
                                        stdin: false, stdout: false, stderr: false, tty: false)
        let client = ExecBridge.SPDYPortForwardClient(options: options)
        client.start(loop: run.loop, address: try SocketAddress(host: "127.0.0.1", port: gateway.port))
        let tunnel = PortForwardRun.Tunnel(port: pod.port, input: [])
        let spdyTunnel: ExecBridge.SPDYPortForwardTunnel = client.openTunnel(port: pod.port, delegate: tunnel)
        tunnel.endpoint = spdyTunnel
        // Reading stops once the tunnel runs (stopped before, the upgrade's answer would wait too).
        let started = EventLoop.now() + 20
        while !(spdyTunnel.isReady && sent.value > 0) && EventLoop.now() < started { run.loop.runOnce() }
        tunnel.endpoint.setReading(false)

        // Until the pod's sender stops advancing (everything between is full), or 20 s.
        var last = -1
        var steadySince = EventLoop.now()
        let deadline = EventLoop.now() + 20
        while EventLoop.now() < deadline {
            run.settle(seconds: 0.05)
            let now = sent.value
            if now != last {
                last = now
                steadySince = EventLoop.now()
            } else if now > 0, EventLoop.now() - steadySince > 1 {
                break
            }
        }
        let heldBack = sent.value
        XCTAssertGreaterThan(heldBack, 0, file: file, line: line)
        XCTAssertLessThan(heldBack, total * 3 / 4, "the pod sent \(heldBack) bytes to a client that reads nothing",
                          file: file, line: line)

        tunnel.endpoint.setReading(true)
        let end = EventLoop.now() + 60
        while !tunnel.isOver && EventLoop.now() < end { run.loop.runOnce() }
        XCTAssertEqual(tunnel.received.count, total, file: file, line: line)
        let expected = patternBytes(64 * 1024, seed: 9)
        let intact = stride(from: 0, to: min(tunnel.received.count, total), by: 64 * 1024).allSatisfy {
            Array(tunnel.received[$0..<min($0 + 64 * 1024, tunnel.received.count)]) == Array(expected.prefix(min(64 * 1024, tunnel.received.count - $0)))
        }
        XCTAssertTrue(intact, "bytes out of order or altered", file: file, line: line)
        XCTAssertEqual(tunnel.status, .success, file: file, line: line)
        client.close()
        run.settle(seconds: 0.1)
    }
}
