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
        // And "d" was never a session: it can be one now.
        let dError = try client.open(channel(sh("echo d"), "error", session: "d"))
        let dOut = try client.open(channel(sh("echo d"), "stdout", session: "d"))
        XCTAssertTrue(client.run { self.allClosed(client, [dError, dOut]) })
        XCTAssertEqual(client[dOut].text, "d\n")
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
