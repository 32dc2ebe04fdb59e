@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// An idle session is kept alive with pings toward the client (load balancers cut idle connections).
final class KeepaliveTests: XCTestCase {
    private func pingsSent(over wire: ExecRun.Wire, expect pattern: String) throws {
        let path = NSTemporaryDirectory() + "execbridge-keepalive-\(getpid())-\(UUID().uuidString.prefix(6)).trace"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let harness = try GatewayHarness { config in
            config.bridge.keepaliveInterval = 0.1
            try? config.traceFrames(to: path)
        }
        let r = ExecRun().run(wire, port: harness.port, path: SessionCases.path(["sleep", "0.6"]))
        XCTAssertEqual(r.status, .success, "\(wire)")
        // A connection's records reach the file when the connection closes, which may be after the
        // client has its status (the gateway lingers for the client's close): poll, with a deadline.
        var trace = ""
        var pings: [Substring] = []
        let deadline = Date().addingTimeInterval(10)
        repeat {
            trace = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            pings = trace.split(separator: "\n").filter { $0.hasPrefix("<") && $0.contains(pattern) }
            if pings.count >= 2 { break }
            usleep(20_000)
        } while Date() < deadline
        XCTAssertGreaterThanOrEqual(pings.count, 2, "\(wire): server pings in the trace:\n\(trace)")
    }

    func testSPDYClientIsPingedWhenIdle() throws {
        try pingsSent(over: .spdy, expect: "PING")
    }

    func testHTTP2ClientIsPingedWhenIdle() throws {
        try pingsSent(over: .h2Prior, expect: "PING")
    }
}
