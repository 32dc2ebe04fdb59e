@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// After a burst of concurrent sessions the gateway gives the memory back: an operator watching its RSS sees
/// it return near where it started, instead of staying at the burst's height for the rest of its life.
final class MemoryReturnTests: XCTestCase {
    private func residentKilobytes(_ pid: pid_t) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.filter(\.isNumber))
    }

    func testIdleGatewayGivesABurstsMemoryBack() throws {
        let serve = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--threads", "1"])
        let loop = EventLoop()
        let address = try SocketAddress(host: "127.0.0.1", port: serve.port)
        let before = try XCTUnwrap(residentKilobytes(serve.pid))

        // Sessions that each hold a little (their connection, streams and process) until they are closed.
        let count = 400
        var clients: [SPDYExecClient] = []
        let sink = DiscardingDelegate()
        let deadline = EventLoop.now() + 60
        while EventLoop.now() < deadline && sink.ended == 0 {
            let settingUp = clients.reduce(0) { $0 + ($1.isReady ? 0 : 1) }
            if clients.count < count && settingUp < 50 {
                var options = ExecClientOptions(authority: "127.0.0.1:\(serve.port)",
                                                path: SessionCases.path(["sleep", "3600"], "output=1"),
                                                stdin: false, stdout: true, stderr: false, tty: false)
                options.versions = [.v4]
                let client = SPDYExecClient(options: options, delegate: sink, pingInterval: 3600)
                client.start(loop: loop, address: address)
                clients.append(client)
                continue
            }
            if clients.count == count && settingUp == 0 { break }
            loop.runOnce()
        }
        XCTAssertEqual(clients.filter(\.isReady).count, count, "sessions not set up in time")
        XCTAssertEqual(sink.ended, 0, "sessions ended early: \(sink.reasons)")
        let held = try XCTUnwrap(residentKilobytes(serve.pid))
        XCTAssertGreaterThan(held - before, 8 * 1024, "the burst should have cost the gateway memory")

        for client in clients { client.terminate(.clientGone) }
        let closing = EventLoop.now() + 2
        while EventLoop.now() < closing { loop.runOnce(block: false); usleep(10_000) }
        clients.removeAll()

        // Half of the burst's growth at most may stay (glibc keeps partial pages and its own bookkeeping).
        let limit = before + (held - before) / 2
        var now = held
        let giveBack = EventLoop.now() + 20
        while EventLoop.now() < giveBack {
            now = residentKilobytes(serve.pid) ?? now
            if now <= limit { break }
            usleep(100_000)
        }
        XCTAssertLessThanOrEqual(now, limit, "before \(before) kB, with \(count) sessions \(held) kB, after \(now) kB")
    }
}

private final class DiscardingDelegate: SessionEndpointDelegate {
    var ended = 0
    var reasons: [String] = []
    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        if case .exit(let status) = event {
            ended += 1
            reasons.append("\(status)")
        }
    }
    func endpointDidDrain(_ endpoint: SessionEndpoint) {}
    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        ended += 1
        reasons.append(reason.rawValue)
    }
}
