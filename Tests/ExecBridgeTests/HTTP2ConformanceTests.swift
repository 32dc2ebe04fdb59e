@testable import ExecBridge
import Glibc
import XCTest

/// Issue 13, item 4: the h2spec cases the gateway failed, checked frame by frame on the wire.
final class HTTP2ConformanceTests: XCTestCase {
    private var harness: GatewayHarness!

    override func setUpWithError() throws {
        harness = try GatewayHarness()
    }

    override func tearDown() {
        harness = nil
    }

    private func handshake() throws -> H2RawConnection {
        let c = try H2RawConnection(port: harness.port, timeout: 5)
        c.send([H2Frame.settings()], preface: true)
        let (_, settings) = c.read { $0.type == H2Frame.settings && $0.flags & H2Frame.ack == 0 }
        XCTAssertNotNil(settings, "server SETTINGS")
        c.send([H2Frame.settingsAck])
        return c
    }

    /// generic/3.8/1, http2/7/1: after the client's GOAWAY the gateway, with nothing left to serve,
    /// says GOAWAY and closes (it does not leave the client waiting).
    func testClientGoAwayEndsAnIdleConnection() throws {
        for code: UInt32 in [0, 0xff] {
            let c = try handshake()
            c.send([H2Frame.goAway(last: 0, code: code)])
            let frames = c.readUntilClosed()
            XCTAssertTrue(c.closed, "code \(code): connection closed; frames \(frames)")
            XCTAssertEqual(frames.last { $0.type == H2Frame.goAway }?.errorCode, 0, "code \(code): GOAWAY NO_ERROR; \(frames)")
        }
    }

    /// generic/3.8/1 as h2spec 2.6 runs it: a PING after the client's GOAWAY is answered, or the
    /// connection is closed; never left hanging.
    func testPingAfterClientGoAwayIsAnsweredOrClosed() throws {
        let c = try handshake()
        c.send([H2Frame.goAway(last: 0), H2Frame.ping()])
        let (frames, answer) = c.read(until: { $0.type == H2Frame.ping && $0.flags & H2Frame.ack != 0 }, answerPings: false)
        XCTAssertTrue(answer != nil || c.closed, "PING ACK or close; frames \(frames)")
    }

    /// http2/3.5/2: an invalid connection preface is a connection error PROTOCOL_ERROR.
    func testInvalidPrefaceIsGoAwayProtocolError() throws {
        let c = try H2RawConnection(port: harness.port, timeout: 5)
        c.send(Array("INVALID CONNECTION PREFACE\r\n\r\n".utf8))
        let frames = c.readUntilClosed()
        XCTAssertTrue(c.closed, "connection closed; frames \(frames)")
        XCTAssertEqual(frames.first { $0.type == H2Frame.goAway }?.errorCode, 1, "GOAWAY PROTOCOL_ERROR; \(frames)")
    }

    /// An HTTP/1.1 request with a bad version stays HTTP/1.1: 505, not an HTTP/2 frame.
    func testUnknownHTTPVersionIsStill505() throws {
        let c = try RawSocket(port: harness.port)
        c.send("GET /healthz HTTP/3.0\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 505)
    }

    /// http2/5.1.1/2: HEADERS on a stream id lower than one the client opened is a connection
    /// error PROTOCOL_ERROR (nghttp2 would only ignore it).
    func testLowerStreamIdIsConnectionError() throws {
        let c = try handshake()
        c.send([H2Frame.request(5, path: "/healthz", endStream: true)])
        c.read { $0.stream == 5 && $0.flags & H2Frame.endStream != 0 }
        c.send([H2Frame.request(3, path: "/healthz", endStream: true)])
        let (frames, goAway) = c.read { $0.type == H2Frame.goAway }
        XCTAssertEqual(goAway?.errorCode, 1, "GOAWAY PROTOCOL_ERROR; frames \(frames)")
        XCTAssertFalse(frames.contains { $0.stream == 3 && $0.type == H2Frame.headers }, "stream 3 not served: \(frames)")
    }

    /// Trailers on an open stream (a lower id than a later one, but opened) are not an error.
    func testTrailersOnAnEarlierOpenStreamAreNoError() throws {
        let c = try handshake()
        let path = SessionCases.path(["cat"], "stdin=1&stdout=1")
        c.send([H2Frame.request(1, method: "POST", path: path, endStream: false),
                H2Frame.request(3, path: "/healthz", endStream: true),
                H2Frame.data(1, Array("abc".utf8)),
                H2Frame.headers(1, [("x-trailer", "1")], endStream: true)])
        let (frames, end) = c.read { $0.stream == 1 && $0.type == H2Frame.headers && $0.flags & H2Frame.endStream != 0 }
        XCTAssertNotNil(end, "stream 1 ends with trailers; frames \(frames)")
        XCTAssertEqual(frames.filter { $0.stream == 1 && $0.type == H2Frame.data }.flatMap(\.payload), Array("abc".utf8))
        XCTAssertFalse(frames.contains { $0.type == H2Frame.goAway }, "\(frames)")
    }

    /// http2/6.9.1/3 on an exec stream: a stream WINDOW_UPDATE overflow is a stream error
    /// FLOW_CONTROL_ERROR; the connection goes on (it answers a PING afterwards).
    func testStreamWindowOverflowOnExecStreamIsStreamError() throws {
        let c = try handshake()
        let path = SessionCases.path(["sleep", "5"], "stdout=1")
        c.send([H2Frame.request(1, path: path, endStream: true)])
        c.read { $0.stream == 1 && $0.type == H2Frame.headers }
        c.send([H2Frame.windowUpdate(1, 0x7fff_ffff), H2Frame.windowUpdate(1, 0x7fff_ffff)])
        let (frames, reset) = c.read { $0.type == H2Frame.rstStream || $0.type == H2Frame.goAway }
        XCTAssertEqual(reset?.type, H2Frame.rstStream, "\(frames)")
        XCTAssertEqual(reset?.stream, 1)
        XCTAssertEqual(reset?.errorCode, 3, "FLOW_CONTROL_ERROR")
        c.send([H2Frame.ping()])
        let (after, ack) = c.read(until: { $0.type == H2Frame.ping && $0.flags & H2Frame.ack != 0 }, answerPings: false)
        XCTAssertNotNil(ack, "the connection still answers: \(after)")
    }
}
