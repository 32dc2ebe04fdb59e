@testable import ExecBridge
import Foundation
import Glibc
import XCTest

/// Issue 13, item 5: an HTTP/2 connection without a stream is closed after the keep-alive bound,
/// and one that leaves the gateway's keepalive PINGs unanswered is closed after the same bound.
final class HTTP2IdleBoundTests: XCTestCase {
    /// Preface and SETTINGS, then nothing (PINGs answered, so only the idle bound applies).
    func testConnectionWithoutStreamEndsAfterKeepAliveTimeout() throws {
        let harness = try GatewayHarness {
            $0.keepAliveTimeout = 0.5
            $0.bridge.keepaliveInterval = 3600
        }
        let c = try H2RawConnection(port: harness.port, timeout: 10)
        c.send([H2Frame.settings()], preface: true)
        let frames = c.readUntilClosed()
        XCTAssertTrue(c.closed, "closed by the gateway; frames \(frames)")
        XCTAssertEqual(frames.last { $0.type == H2Frame.goAway }?.errorCode, 0, "GOAWAY NO_ERROR; \(frames)")
    }

    /// A plain request, then silence: the bound counts from the last stream's end.
    func testConnectionIsIdleAgainAfterItsLastStream() throws {
        let harness = try GatewayHarness {
            $0.keepAliveTimeout = 0.5
            $0.bridge.keepaliveInterval = 3600
        }
        let c = try H2RawConnection(port: harness.port, timeout: 10)
        c.send([H2Frame.settings(), H2Frame.request(1, path: "/healthz", endStream: true)], preface: true)
        let frames = c.readUntilClosed()
        XCTAssertTrue(frames.contains { $0.stream == 1 && $0.type == H2Frame.headers }, "\(frames)")
        XCTAssertTrue(c.closed, "closed by the gateway; frames \(frames)")
        XCTAssertNotNil(frames.last { $0.type == H2Frame.goAway }, "\(frames)")
    }

    /// A running session is not idle: it is not cut by the idle bound while the client answers PINGs.
    func testSessionOutlivesTheIdleBound() throws {
        let harness = try GatewayHarness {
            $0.keepAliveTimeout = 0.3
            $0.bridge.keepaliveInterval = 0.1
        }
        let r = ExecRun().run(.h2Prior, port: harness.port, path: SessionCases.path(["sh", "-c", "sleep 1; echo done"]))
        XCTAssertEqual(r.stdoutText, "done\n")
        XCTAssertEqual(r.status, .success)
    }

    /// A client that never answers the keepalive PING is gone: GOAWAY, close, and its session ends
    /// (the command is killed).
    func testUnansweredPingsEndTheConnection() throws {
        let harness = try GatewayHarness {
            $0.keepAliveTimeout = 0.5
            $0.bridge.keepaliveInterval = 0.1
        }
        let marker = "h2-unanswered-\(getpid())"
        let c = try H2RawConnection(port: harness.port, timeout: 10)
        c.send([H2Frame.settings(), H2Frame.settingsAck,
                H2Frame.request(1, path: SessionCases.path(["sh", "-c", "sleep 600; echo \(marker)"], "stdout=1"), endStream: true)],
               preface: true)
        var frames: [H2Frame] = []
        while let frame = c.readFrame() { frames.append(frame) }
        XCTAssertTrue(frames.contains { $0.type == H2Frame.ping && $0.flags & H2Frame.ack == 0 }, "pinged: \(frames)")
        XCTAssertTrue(c.closed, "closed by the gateway; frames \(frames)")
        XCTAssertEqual(frames.last { $0.type == H2Frame.goAway }?.errorCode, 0, "GOAWAY; \(frames)")
        let deadline = Date().addingTimeInterval(10)
        while !processes(containing: marker).isEmpty, Date() < deadline { usleep(20_000) }
        XCTAssertEqual(processes(containing: marker), [], "the session's command was ended")
    }
}
