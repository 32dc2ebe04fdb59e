@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// Issue 15 item 3 (set-up latency): a pooled upstream session opens its channel streams after
/// the first answer all at once, not one per reply (each reply waited for is a round trip).
final class UpstreamStreamOpeningTests: XCTestCase {
    func testTheOtherChannelStreamsGoTogetherAfterTheFirstAnswer() throws {
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
        let answers = headers.indices.filter { headers[$0].hasPrefix("<") }
        XCTAssertEqual(requests.count, 4, trace)
        guard requests.count == 4, let firstAnswer = answers.first else { return }
        // error first, alone; stdin, stdout and stderr all before the upstream answered any of them.
        XCTAssertLessThan(requests[0], firstAnswer, trace)
        XCTAssertGreaterThan(requests[1], firstAnswer, trace)
        let secondAnswer = answers.dropFirst().first ?? Int.max
        XCTAssertLessThan(requests[3], secondAnswer, trace)
    }
}
