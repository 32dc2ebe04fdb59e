@testable import ExecBridge
import ExecModel
import Foundation
import Reactor
import XCTest

/// Issue 15 item 3 (set-up latency): a pooled upstream session opens its error stream when the
/// client's first stream arrives, and the other channel streams together once the client has all
/// of its own, without waiting for the upstream's first answer (each reply waited for is a round trip).
final class UpstreamStreamOpeningTests: XCTestCase {
    func testTheOtherChannelStreamsGoTogether() throws {
        let path = NSTemporaryDirectory() + "execbridge-opening-\(getpid())-\(UUID().uuidString.prefix(6)).trace"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var pair: UpstreamPair? = try UpstreamPair(.h2c, upstreamConfig: { try? $0.traceFrames(to: path) })
        let run = ExecRun(stdin: Array("in".utf8)).run(.spdy, port: try XCTUnwrap(pair).gateway.port,
                                                       path: SessionCases.path(["cat"], "input=1&output=1&error=1"))
        XCTAssertEqual(run.stdoutText, "in")
        XCTAssertEqual(run.status, .success)
        // The upstream writes a connection's records when it closes: stop both gateways.
        pair = nil
        let trace = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        // The upstream's view, in order: requests in (">") and answers out ("<"), HEADERS only.
        let headers = trace.split(separator: "\n").filter { $0.contains("HEADERS") }
        let requests = headers.indices.filter { headers[$0].hasPrefix(">") }
        XCTAssertEqual(requests.count, 4, trace)
        guard requests.count == 4 else { return }
        // error first; stdin, stdout and stderr one after the other, no answer between them.
        XCTAssertTrue(headers[requests[0]].contains("error"), trace)
        XCTAssertEqual(requests[3] - requests[1], 2, trace)
    }

    func testTheUpstreamErrorStreamOpensWithTheClientsFirstStreamAndNothingRunsBeforeTheLast() throws {
        let pair = try UpstreamPair(.h2c, relayed: true)
        let relay = try XCTUnwrap(pair.relay)
        let marker = "opening-\(UUID().uuidString.prefix(8))"
        let path = SessionCases.path(["sh", "-c", "sleep 30; echo \(marker)"])
        // A client that opens its error stream only, then goes away.
        let probe = try H2Probe(port: pair.gateway.port, headers: [
            (":method", "POST"), (":path", path), (":scheme", "http"), (":authority", "127.0.0.1"),
            ("streamtype", "error"), ("x-stream-protocol-version", "v4.channel.k8s.io")], headOnly: true)
        XCTAssertEqual(probe.status, 200)
        // The upstream admitted the session while the client was still setting up ...
        let deadline = EventLoop.now() + 20
        while pair.seen.all.count < 1 && EventLoop.now() < deadline { usleep(5_000) }
        XCTAssertEqual(pair.seen.all.count, 1, "the upstream heard nothing before the client's last stream")
        // ... and ran nothing: the next session on the same connection comes after the reset.
        let next = ExecRun().run(.h2Prior, port: pair.gateway.port, path: SessionCases.path(["echo", "next"]))
        XCTAssertEqual(next.stdoutText, "next\n")
        XCTAssertEqual(next.status, .success)
        XCTAssertEqual(processes(containing: marker), [])
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1)
    }
}
