@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// Issue 13, item 1: frames that follow the end of a session in the same read (or the next) must
/// not open a session on a connection that is closing, nor reach a session that ended. On `main`
/// the first case aborted the process: "Attempted to read an unowned reference but object … was
/// already destroyed". Every HTTP/2 entry is covered; after each case the gateway must still
/// answer `/healthz` and run a normal session.
final class HTTP2LifecycleTests: XCTestCase {
    enum Entry: CaseIterable { case priorKnowledge, upgrade, tls, extendedConnect }

    private var harness: GatewayHarness!
    private var tlsHarness: GatewayHarness!
    private var clientTLS: TLSContext!

    override func setUpWithError() throws {
        let files = try TestCertificate.shared()
        let serverTLS = try TLSContext(certificate: files.cert, key: files.key)
        // A short linger: a connection whose session ended says GOAWAY soon.
        harness = try GatewayHarness { $0.bridge.closeLinger = 0.2 }
        tlsHarness = try GatewayHarness {
            $0.tls = serverTLS
            $0.bridge.closeLinger = 0.2
        }
        clientTLS = try TLSContext(clientCA: files.cert, alpn: ["h2"])
    }

    override func tearDown() {
        harness = nil
        tlsHarness = nil
    }

    static let execPath = SessionCases.path(["echo", "hi"], "stdout=1")
    static let channelPath = SessionCases.path(["echo", "hi"], "stdout=1&stderr=1")

    /// Opens a connection through `entry` whose stream 1 is an exec session; `after` is what the
    /// client sends next, in the same write as the opening frames when `oneWrite` (except for the
    /// h2c upgrade, whose HTTP/1.1 request necessarily goes first).
    private func open(_ entry: Entry, then after: [H2Frame], oneWrite: Bool) throws -> H2RawConnection {
        let c = try H2RawConnection(port: entry == .tls ? tlsHarness.port : harness.port, tls: entry == .tls, timeout: 5)
        var opening: [H2Frame]
        switch entry {
        case .priorKnowledge, .tls:
            opening = [H2Frame.settings(), H2Frame.request(1, path: Self.execPath, endStream: true)]
        case .extendedConnect:
            // Our SETTINGS (ENABLE_CONNECT_PROTOCOL) must be acknowledged before a CONNECT.
            opening = [H2Frame.settings(), H2Frame.settingsAck,
                       H2Frame.headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                                           (":authority", "gw"), (":path", Self.channelPath),
                                           ("sec-websocket-version", "13"),
                                           ("sec-websocket-protocol", "v4.channel.k8s.io")], endStream: false)]
        case .upgrade:
            c.send(Array(("GET \(Self.execPath) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                          + "Upgrade: h2c\r\nHTTP2-Settings: AAIAAAAA\r\n\r\n").utf8))
            let head = c.readUntil("\r\n\r\n") ?? ""
            XCTAssertTrue(head.hasPrefix("HTTP/1.1 101"), head)
            opening = [H2Frame.settings()]
        }
        if oneWrite {
            c.send(opening + after, preface: true)
        } else {
            c.send(opening, preface: true)
            // The gateway has taken stream 1 once it answers it.
            c.read { $0.stream == 1 && ($0.type == H2Frame.headers || $0.type == H2Frame.rstStream) }
            for frame in after { c.send([frame]) }
        }
        return c
    }

    /// The gateway is alive: `/healthz` answers and a new session runs to its end.
    private func assertServing(_ label: String, tls: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        if tls {
            let probe = try H2RawConnection(port: tlsHarness.port, tls: true, timeout: 5)
            probe.send([H2Frame.settings(), H2Frame.request(1, path: "/healthz", endStream: true)], preface: true)
            let answer = probe.read { $0.stream == 1 && $0.type == H2Frame.headers }.matched
            // :status 200 is entry 8 of the HPACK static table: the block starts 0x88.
            XCTAssertEqual(answer?.payload.first, 0x88, "\(label): /healthz", file: file, line: line)
        } else {
            let probe = try RawSocket(port: harness.port)
            probe.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            XCTAssertEqual(probe.readResponse()?.status, 200, "\(label): /healthz", file: file, line: line)
        }
        let r = ExecRun().run(tls ? .h2TLS : .h2Prior, port: tls ? tlsHarness.port : harness.port,
                              path: SessionCases.path(["echo", "next"]), tls: tls ? clientTLS : nil)
        XCTAssertEqual(r.stdoutText, "next\n", "\(label): a following session", file: file, line: line)
        XCTAssertEqual(r.status, .success, "\(label): a following session", file: file, line: line)
    }

    private func run(_ name: String, after: [H2Frame]) throws {
        for entry in Entry.allCases {
            for oneWrite in [true, false] {
                let label = "\(name) via \(entry), \(oneWrite ? "one write" : "separate writes")"
                let c = try open(entry, then: after, oneWrite: oneWrite)
                // Whatever the gateway answers, the connection ends in order (or stays usable).
                _ = c.read { $0.type == H2Frame.goAway }
                try assertServing(label, tls: entry == .tls)
            }
        }
    }

    /// The exact sequence of the issue: RST_STREAM on the session's stream, then HEADERS for a new
    /// exec on stream 3.
    func testResetThenNewExecStream() throws {
        try run("RST then HEADERS", after: [H2Frame.rst(1), H2Frame.request(3, path: Self.execPath, endStream: true)])
    }

    func testResetThenFramesForTheDeadStream() throws {
        try run("RST then PRIORITY/WINDOW_UPDATE/DATA",
                after: [H2Frame.rst(1), H2Frame.priority(1), H2Frame.windowUpdate(1, 1000), H2Frame.data(1, [1, 2, 3]),
                        H2Frame.request(3, path: Self.execPath, endStream: true)])
    }

    func testGoAwayThenHeaders() throws {
        try run("GOAWAY then HEADERS", after: [H2Frame.goAway(last: 0), H2Frame.request(3, path: Self.execPath, endStream: true)])
    }

    /// On the wire: a stream opened after a session ended on the same connection is a session of
    /// its own (spec §5 item 8; before multiplexing it was refused): stream 3 is answered 200 and
    /// runs to its status trailers, and the connection does not say GOAWAY for stream 1's end.
    func testStreamAfterTheSessionEndedIsANewSession() throws {
        let c = try open(.priorKnowledge, then: [H2Frame.rst(1), H2Frame.request(3, path: Self.execPath, endStream: true)],
                         oneWrite: true)
        let (frames, trailers) = c.read { $0.stream == 3 && $0.type == H2Frame.headers && $0.flags & 0x1 != 0 }
        XCTAssertNotNil(trailers, "stream 3 ends with its status trailers; frames: \(frames)")
        let answer = frames.first { $0.stream == 3 && $0.type == H2Frame.headers }
        XCTAssertEqual(answer?.payload.first, 0x88, ":status 200 on stream 3; frames: \(frames)")
        XCTAssertEqual(frames.filter { $0.stream == 3 && $0.type == H2Frame.data }.flatMap(\.payload), Array("hi\n".utf8))
        XCTAssertFalse(frames.contains { $0.type == H2Frame.goAway || ($0.stream == 3 && $0.type == H2Frame.rstStream) },
                       "\(frames)")
    }
}
