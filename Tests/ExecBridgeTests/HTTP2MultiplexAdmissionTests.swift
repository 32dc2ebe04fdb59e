@testable import ExecBridge
import ExecModel
import HTTP2
import XCTest

/// Admission per session on a shared HTTP/2 connection (spec §5 item 8): identity,
/// authorization and the session limits are decided for each stream that opens a session, never
/// inherited, and a refusal answers that stream alone. `--max-concurrent-streams` is advertised
/// and enforced.
final class HTTP2MultiplexAdmissionTests: XCTestCase {
    private let policy = """
    rules:
      - groups: [ops]
        namespaces: [default]
        pods: ["web-?"]
        containers: [app]
    """

    private func request(_ path: String, token: String?) -> [(String, String)] {
        [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)]
            + (token.map { [("authorization", "Bearer \($0)")] } ?? [])
    }

    func testEachStreamIsAuthorizedOnItsOwn() throws {
        let gateway = try SecureGateway(tokens: policyTokens, policy: policy, inventory: policyInventory)
        let client = try H2MuxClient(port: gateway.port)
        defer { client.close() }
        let path = SecurityPrivilegedTests.path("web-1", "app", namespace: "default")
        let alice = try client.open(request(path, token: "alice-p0licy-token-1"))
        let bob = try client.open(request(path, token: "bob-p0licy-token-2"))
        let nobody = try client.open(request(path, token: nil))
        // A session admitted before does not admit the next stream: alice again, after bob ran.
        XCTAssertTrue(client.run { [alice, bob, nobody].allSatisfy { client[$0].closeCode != nil } })
        let aliceAgain = try client.open(request(path, token: "alice-p0licy-token-1"))
        XCTAssertTrue(client.run { client[aliceAgain].closeCode != nil })
        XCTAssertEqual(client[alice].status, 403)
        XCTAssertTrue(client[alice].text.contains(#"User \"alice\" cannot create resource"#), client[alice].text)
        XCTAssertEqual(client[bob].status, 200)
        XCTAssertEqual(client[bob].text, "hello\n")
        XCTAssertEqual(client[bob].exitCode, 0)
        XCTAssertEqual(client[nobody].status, 401)
        XCTAssertEqual(client[aliceAgain].status, 403)
        XCTAssertNil(client.goAway.map { "\($0)" })
    }

    /// `--max-sessions`: the stream beyond the limit gets 503; the running session and the
    /// connection go on, and once it ended the next stream is admitted.
    func testSessionLimitRefusesOneStreamOnly() throws {
        let harness = try GatewayHarness { $0.limits = SessionLimits(maxSessions: 1) }
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let cat = SessionCases.path(["cat"], "stdin=1&stdout=1")
        let running = try client.open(request(cat, token: nil), body: [], end: false)
        XCTAssertTrue(client.run { client[running].status == 200 })
        let over = try client.exec(SessionCases.path(["echo", "over"], "stdout=1"))
        XCTAssertTrue(client.run { client[over].closeCode != nil })
        XCTAssertEqual(client[over].status, 503)
        XCTAssertNotNil(client[over].head.first("retry-after"))
        try client.h2.sendData(Array("ok".utf8), stream: running)
        try client.h2.endStream(running)
        client.h2.flush()
        XCTAssertTrue(client.run { client[running].closeCode != nil })
        XCTAssertEqual(client[running].text, "ok")
        let next = try client.exec(SessionCases.path(["echo", "next"], "stdout=1"))
        XCTAssertTrue(client.run { client[next].closeCode != nil })
        XCTAssertEqual(client[next].text, "next\n")
    }

    /// SETTINGS_MAX_CONCURRENT_STREAMS is the flag's value, and a client that opens more streams
    /// than that is refused them (raw frames: a conforming client waits instead). nghttp2 treats
    /// the excess stream as a connection error (GOAWAY PROTOCOL_ERROR), which RFC 9113 §5.1.2
    /// allows as the stricter answer; either way the stream is never answered.
    func testMaxConcurrentStreamsIsAdvertisedAndEnforced() throws {
        let harness = try GatewayHarness { $0.bridge.maxConcurrentStreams = 2 }
        let client = try H2MuxClient(port: harness.port)
        XCTAssertEqual(client.h2.peerMaxConcurrentStreams, 2)
        // A conforming client holds the third request until a stream closes: all three complete.
        let ids = try (1...3).map { try client.exec(SessionCases.path(["echo", "s\($0)"], "stdout=1")) }
        XCTAssertTrue(client.run { ids.allSatisfy { client[$0].closeCode != nil } })
        XCTAssertEqual(ids.map { client[$0].text }, ["s1\n", "s2\n", "s3\n"])
        client.close()

        let c = try H2RawConnection(port: harness.port, timeout: 10)
        let cat = SessionCases.path(["cat"], "stdin=1&stdout=1")
        c.send([H2Frame.settings(), H2Frame.settingsAck,
                H2Frame.request(1, method: "POST", path: cat, endStream: false),
                H2Frame.request(3, method: "POST", path: cat, endStream: false)], preface: true)
        // Both admitted (answered) before the third arrives: the limit counts open streams.
        var answered: Set<UInt32> = []
        var frames = c.read { frame in
            if frame.type == H2Frame.headers { answered.insert(frame.stream) }
            return answered.isSuperset(of: [1, 3])
        }.frames
        let settings = frames.first { $0.type == H2Frame.settings && $0.flags & H2Frame.ack == 0 }
        XCTAssertTrue(settings.map { Self.entries($0.payload) }?.contains { $0 == (3, 2) } ?? false,
                      "SETTINGS_MAX_CONCURRENT_STREAMS = 2 in \(String(describing: settings))")
        c.send([H2Frame.request(5, method: "POST", path: cat, endStream: false)])
        let (more, refusal) = c.read {
            ($0.stream == 5 && $0.type == H2Frame.rstStream) || $0.type == H2Frame.goAway
        }
        frames += more
        XCTAssertTrue([1, 7].contains(refusal?.errorCode), "stream 5 refused: \(frames)")
        XCTAssertFalse(frames.contains { $0.stream == 5 && $0.type == H2Frame.headers }, "\(frames)")
    }

    private static func entries(_ payload: [UInt8]) -> [(UInt16, UInt32)] {
        stride(from: 0, to: payload.count - 5, by: 6).map { i -> (UInt16, UInt32) in
            let id = UInt16(payload[i]) << 8 | UInt16(payload[i + 1])
            var value: UInt32 = 0
            for byte in payload[(i + 2)..<(i + 6)] { value = value << 8 | UInt32(byte) }
            return (id, value)
        }
    }

    func testMaxConcurrentStreamsMustBePositive() {
        var settings = LimitSettings()
        settings.maxConcurrentStreams = 0
        XCTAssertThrowsError(try settings.validate()) { error in
            XCTAssertTrue("\(error)".contains("--max-concurrent-streams must be at least 1"), "\(error)")
        }
        settings.maxConcurrentStreams = 1
        XCTAssertNoThrow(try settings.validate())
    }
}
