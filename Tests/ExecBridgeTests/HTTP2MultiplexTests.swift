@testable import ExecBridge
import ExecModel
import HTTP2
import XCTest

/// Issue 15 item 1, spec §5 item 8: one HTTP/2 connection carries many sessions, each on its own
/// streams, each with its own result; one session's end, reset or stalled reader leaves the others
/// running. On `main` before this, every stream after the first session's was refused.
final class HTTP2MultiplexTests: XCTestCase {
    private var harness: GatewayHarness!

    override func setUpWithError() throws {
        harness = try GatewayHarness(threads: 1)
    }

    override func tearDown() {
        harness = nil
    }

    private func sh(_ script: String, _ flags: String = "stdout=1") -> String {
        SessionCases.path(["sh", "-c", script], flags)
    }

    private func allClosed(_ client: H2MuxClient, _ ids: [Int32]) -> Bool {
        ids.allSatisfy { client[$0].closeCode != nil }
    }

    func testConcurrentSingleStreamSessionsKeepTheirOwnOutputAndExitCode() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        // Every stream opened before any answer: the sessions run side by side.
        let ids = try (0..<8).map { i in try client.exec(sh("sleep 0.2; echo out-\(i); exit \(i)")) }
        XCTAssertTrue(client.run { self.allClosed(client, ids) }, "every session ends")
        for (i, id) in ids.enumerated() {
            let s = client[id]
            XCTAssertEqual(s.status, 200, "stream \(id)")
            XCTAssertEqual(s.text, "out-\(i)\n", "stream \(id)")
            XCTAssertEqual(s.exitCode, i, "stream \(id): \(s.trailers)")
            XCTAssertEqual(s.closeCode, 0, "stream \(id)")
        }
        // The connection outlives its sessions: no GOAWAY, and the next request runs on it.
        let next = try client.exec(sh("echo again"))
        XCTAssertTrue(client.run { client[next].closeCode != nil })
        XCTAssertEqual(client[next].text, "again\n")
        XCTAssertEqual(client[next].exitCode, 0)
        XCTAssertNil(client.goAway.map { "\($0)" })
        XCTAssertFalse(client.closed)
    }

    /// A client that stops reading one response holds that session alone (its stream window):
    /// the session beside it delivers every byte, and the stalled one is intact when read again.
    func testStalledReaderDoesNotStallAnotherSession() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let stalledBytes = 3_000_000, busyBytes = 8_000_000
        let stalled = try client.exec(sh("head -c \(stalledBytes) /dev/zero"))
        client.unread.insert(stalled)
        XCTAssertTrue(client.run { client[stalled].body.count >= 65_535 }, "the stalled stream filled its window")
        let busy = try client.exec(sh("head -c \(busyBytes) /dev/zero; exit 5"))
        XCTAssertTrue(client.run(timeout: 60) { client[busy].closeCode != nil }, "the busy session completes")
        XCTAssertEqual(client[busy].body.count, busyBytes)
        XCTAssertEqual(client[busy].exitCode, 5)
        XCTAssertNil(client[stalled].closeCode, "the stalled session is still alive")
        XCTAssertLessThan(client[stalled].body.count, stalledBytes)
        client.resumeReading(stalled)
        XCTAssertTrue(client.run(timeout: 60) { client[stalled].closeCode != nil })
        XCTAssertEqual(client[stalled].body.count, stalledBytes)
        XCTAssertEqual(client[stalled].exitCode, 0)
    }

    /// stdin a backend does not take holds only its stream's window: the connection window comes
    /// back at once, so another session's stdin still flows.
    func testUnreadStdinDoesNotHoldTheConnectionWindow() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let sleepers = try (0..<6).map { _ in
            try client.open(request(sh("sleep 600", "stdin=1&stdout=1")), body: [UInt8](repeating: 7, count: 600_000), end: false)
        }
        let payload = (0..<2_000_000).map { UInt8($0 % 251) }
        let cat = try client.open(request(sh("cat", "stdin=1&stdout=1")), body: payload, end: true)
        XCTAssertTrue(client.run(timeout: 60) { client[cat].closeCode != nil }, "the echoing session completes")
        XCTAssertEqual(client[cat].body.count, payload.count)
        XCTAssertTrue(client[cat].body == payload, "the echoed bytes are the bytes sent")
        XCTAssertEqual(client[cat].exitCode, 0)
        for id in sleepers { XCTAssertNil(client[id].closeCode, "stream \(id) still running") }
    }

    func testResetOfOneSessionLeavesTheOthers() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let first = try client.open(request(sh("cat", "stdin=1&stdout=1")), body: [], end: false)
        let second = try client.open(request(sh("cat", "stdin=1&stdout=1")), body: [], end: false)
        XCTAssertTrue(client.run { client[first].status == 200 && client[second].status == 200 })
        client.reset(first)
        XCTAssertTrue(client.run { client[first].closeCode != nil })
        try client.h2.sendData(Array("still here".utf8), stream: second)
        try client.h2.endStream(second)
        client.h2.flush()
        XCTAssertTrue(client.run { client[second].closeCode != nil })
        XCTAssertEqual(client[second].text, "still here")
        XCTAssertEqual(client[second].exitCode, 0)
        XCTAssertNil(client.goAway.map { "\($0)" })
    }

    /// SIGTERM on a connection with two running sessions: a new stream is refused, both running
    /// sessions finish with their output, then GOAWAY and the connection closes.
    func testDrainFinishesRunningSessionsAndRefusesNewOnes() throws {
        // The drain outlasts the close linger: the connection ends on its own, not by the drain timeout.
        harness = try GatewayHarness {
            $0.drainTimeout = 30
            $0.bridge.closeLinger = 0.5
        }
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let cat = sh("cat", "stdin=1&stdout=1")
        let first = try client.open(request(cat), body: [], end: false)
        let second = try client.open(request(cat), body: [], end: false)
        XCTAssertTrue(client.run { client[first].status == 200 && client[second].status == 200 })
        harness.gateway.shutdown()
        // Draining: a new stream is refused, and no GOAWAY comes while sessions run (clients such
        // as Python's h2 fail on frames behind one).
        var late: Int32 = 0
        XCTAssertTrue(client.run {
            if late == 0 || client[late].closeCode == HTTP2ErrorCode.noError {
                late = (try? client.exec(self.sh("echo late"))) ?? 0
            }
            return late != 0 && client[late].closeCode == HTTP2ErrorCode.refusedStream
        }, "a new stream is refused")
        XCTAssertNil(client[late].status)
        XCTAssertNil(client.goAway.map { "\($0)" })
        for (id, text) in [(first, "one"), (second, "two")] {
            try client.h2.sendData(Array(text.utf8), stream: id)
            try client.h2.endStream(id)
        }
        client.h2.flush()
        XCTAssertTrue(client.run { client[first].closeCode != nil && client[second].closeCode != nil })
        XCTAssertEqual(client[first].text, "one")
        XCTAssertEqual(client[second].text, "two")
        XCTAssertEqual(client[first].exitCode, 0)
        XCTAssertEqual(client[second].exitCode, 0)
        XCTAssertTrue(client.run { client.closed }, "the connection closes after the last session")
        XCTAssertNotNil(client.goAway, "GOAWAY before the close")
    }

    // MARK: Channel-stream sessions

    private func request(_ path: String, _ extra: [(String, String)] = []) -> [(String, String)] {
        [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)] + extra
    }

    private func channel(_ path: String, _ type: String, session: String?) -> [(String, String)] {
        request(path, [("streamtype", type), ("x-stream-protocol-version", "v4.channel.k8s.io")]
                + (session.map { [("exec-session", $0)] } ?? []))
    }

    private func exitCode(ofStatus bytes: [UInt8]) -> Int? {
        ExecStatus.decode(bytes, version: .v4).exitCode
    }

    func testChannelSessionsAreGroupedByExecSession() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let a = sh("echo A; exit 3"), b = sh("echo B; exit 4"), u = sh("echo U")
        // Interleaved: each session starts when its own channels are all there.
        let aError = try client.open(channel(a, "error", session: "a"))
        let bError = try client.open(channel(b, "error", session: "b-2"))
        let uError = try client.open(channel(u, "error", session: nil))
        let bOut = try client.open(channel(b, "stdout", session: "b-2"))
        let uOut = try client.open(channel(u, "stdout", session: nil))
        let aOut = try client.open(channel(a, "stdout", session: "a"))
        let all = [aError, bError, uError, bOut, uOut, aOut]
        XCTAssertTrue(client.run { self.allClosed(client, all) })
        XCTAssertEqual(client[aOut].text, "A\n")
        XCTAssertEqual(client[bOut].text, "B\n")
        XCTAssertEqual(client[uOut].text, "U\n")
        XCTAssertEqual(exitCode(ofStatus: client[aError].body), 3)
        XCTAssertEqual(exitCode(ofStatus: client[bError].body), 4)
        XCTAssertEqual(exitCode(ofStatus: client[uError].body), 0)
        for id in all { XCTAssertEqual(client[id].closeCode, 0, "stream \(id)") }

        // A completed session's token and the one unnamed session take no further stream.
        let late = try client.open(channel(a, "stdout", session: "a"))
        let unnamed = try client.open(channel(u, "error", session: nil))
        XCTAssertTrue(client.run { self.allClosed(client, [late, unnamed]) })
        XCTAssertEqual(client[late].closeCode, HTTP2ErrorCode.refusedStream)
        XCTAssertEqual(client[unnamed].closeCode, HTTP2ErrorCode.refusedStream)
        XCTAssertNil(client.goAway.map { "\($0)" })
    }

    func testDuplicateChannelAndBadTokensAreRefusedOnTheirStreamOnly() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let path = sh("cat", "stdin=1&stdout=1")
        let error = try client.open(channel(path, "error", session: "c"))
        let out = try client.open(channel(path, "stdout", session: "c"))
        let duplicate = try client.open(channel(path, "stdout", session: "c"))
        XCTAssertTrue(client.run { client[duplicate].closeCode != nil })
        XCTAssertEqual(client[duplicate].closeCode, HTTP2ErrorCode.refusedStream)
        // Malformed tokens: 400 on that stream.
        let spaced = try client.open(channel(path, "error", session: "a b"))
        let long = try client.open(channel(path, "error", session: String(repeating: "x", count: 65)))
        // A first stream of an unknown type is refused at once: no session waits for it.
        let unknown = try client.open(channel(path, "bogus", session: "d"))
        XCTAssertTrue(client.run { self.allClosed(client, [spaced, long, unknown]) })
        XCTAssertEqual(client[spaced].status, 400)
        XCTAssertEqual(client[long].status, 400)
        XCTAssertEqual(client[unknown].closeCode, HTTP2ErrorCode.refusedStream)
        XCTAssertNil(client[unknown].status)
        // Session c still completes once its stdin stream arrives.
        let stdin = try client.open(channel(path, "stdin", session: "c"), body: Array("typed".utf8), end: true)
        XCTAssertTrue(client.run { self.allClosed(client, [error, out, stdin]) })
        XCTAssertEqual(client[out].text, "typed")
        XCTAssertEqual(exitCode(ofStatus: client[error].body), 0)
        // "d" was refused: its token refuses the session's other streams (a client sends them without
        // waiting for the first answer), so none of them is admitted as a session of its own.
        let dOut = try client.open(channel(sh("echo d"), "stdout", session: "d"))
        XCTAssertTrue(client.run { client[dOut].closeCode != nil })
        XCTAssertEqual(client[dOut].closeCode, HTTP2ErrorCode.refusedStream)
        try assertEchoSession(on: client, token: "e")
    }

    /// A client may send all of a session's channel streams before the first answer. When that
    /// session is refused, its error stream carries the refusal and the other streams are refused
    /// with REFUSED_STREAM, never admitted (and refused, and audited) again as sessions of their own.
    func testRefusedSessionsOtherStreamsAreRefusedNotAdmittedAgain() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let path = sh("echo never")
        let offer: [(String, String)] = [("x-stream-protocol-version", "v9.channel.k8s.io"), ("exec-session", "r")]
        let error = try client.open(request(path, [("streamtype", "error")] + offer))
        let out = try client.open(request(path, [("streamtype", "stdout")] + offer))
        XCTAssertTrue(client.run { self.allClosed(client, [error, out]) })
        XCTAssertEqual(client[error].status, 403)
        XCTAssertTrue(client[error].text.contains("v9.channel.k8s.io"), client[error].text)
        XCTAssertNil(client[out].status)
        XCTAssertEqual(client[out].closeCode, HTTP2ErrorCode.refusedStream)
        // The connection serves the next session.
        try assertEchoSession(on: client, token: "s")
    }

    /// A channel session `token` running `echo token` on `client` prints it.
    private func assertEchoSession(on client: H2MuxClient, token: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let error = try client.open(channel(sh("echo \(token)"), "error", session: token))
        let out = try client.open(channel(sh("echo \(token)"), "stdout", session: token))
        XCTAssertTrue(client.run { self.allClosed(client, [error, out]) }, file: file, line: line)
        XCTAssertEqual(client[out].text, "\(token)\n", file: file, line: line)
    }

    /// After an h2c upgrade in channel mode, the channel streams (no exec-session) join stream 1's
    /// session: one session, admitted once (with --max-sessions 1 a second one would be 503).
    func testUpgradedChannelSessionIsOneSession() throws {
        harness = try GatewayHarness { $0.limits = SessionLimits(maxSessions: 1) }
        let r = ExecRun().run(.h2Upgrade, port: harness.port, path: SessionCases.path(["echo", "once"]))
        XCTAssertEqual(r.stdoutText, "once\n")
        XCTAssertEqual(r.status, .success)
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        XCTAssertTrue(client.run { self.harness.gateway.sessionsEnded == 1 })
        XCTAssertEqual(harness.gateway.sessionsEnded, 1)
    }

    /// Every extended CONNECT stream is a WebSocket session of its own, beside single-stream ones.
    func testExtendedConnectStreamsAreSessionsOfTheirOwn() throws {
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        func connect(_ word: String) throws -> Int32 {
            try client.open([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                             (":authority", "127.0.0.1"), (":path", sh("echo \(word)", "stdout=1")),
                             ("sec-websocket-version", "13"), ("sec-websocket-protocol", "v4.channel.k8s.io")],
                            body: [], end: false)
        }
        let first = try connect("ws-first"), second = try connect("ws-second")
        let plain = try client.exec(sh("echo plain"))
        // The server's frames are unmasked: each output is in its stream's body as sent.
        func carries(_ id: Int32, _ text: String) -> Bool { client[id].body.firstRange(of: Array(text.utf8)) != nil }
        XCTAssertTrue(client.run { carries(first, "ws-first\n") && carries(second, "ws-second\n") && client[plain].closeCode != nil })
        XCTAssertEqual(client[first].status, 200)
        XCTAssertEqual(client[second].status, 200)
        XCTAssertFalse(carries(first, "ws-second"))
        XCTAssertEqual(client[plain].text, "plain\n")
    }

    /// The bundled client names its channel streams, so two of its sessions can share a
    /// connection; against this server it runs as before.
    func testBundledClientSessionsStillRun() throws {
        for wire in [ExecRun.Wire.h2Prior, .h2Upgrade] {
            let r = ExecRun().run(wire, port: harness.port, path: SessionCases.path(["echo", "named"]))
            XCTAssertEqual(r.stdoutText, "named\n", "\(wire)")
            XCTAssertEqual(r.status, .success, "\(wire)")
        }
    }
}
