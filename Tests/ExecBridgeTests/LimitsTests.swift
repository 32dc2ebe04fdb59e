@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import Reactor
import XCTest

/// Overload limits end to end: `--max-sessions` (503), `--max-sessions-per-user` (429),
/// `/readyz` at the limit, `--max-connections`, `--stall-timeout`.
final class LimitsTests: XCTestCase {
    private let execPath = SessionCases.path(["cat"], "input=1&output=1")

    /// An exec upgrade the gateway admits and then waits on (the client opens no streams): it holds
    /// a place in the session limits while the socket stays open.
    private func holdSession(_ harness: GatewayHarness, user: String? = nil) throws -> RawSocket {
        let socket = try RawSocket(port: harness.port)
        socket.send(upgrade(user: user))
        let head = try XCTUnwrap(readHead(socket))
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101"), head)
        return socket
    }

    private func upgrade(user: String?) -> String {
        "POST \(execPath) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
            + (user.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "\r\n"
    }

    private func readHead(_ socket: RawSocket) -> String? {
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while recv(socket.fd, &byte, 1, 0) == 1 {
            data.append(byte)
            if data.count >= 4, data.suffix(4) == Array("\r\n\r\n".utf8) { return String(decoding: data, as: UTF8.self) }
        }
        return nil
    }

    private func get(_ harness: GatewayHarness, _ path: String) throws -> (status: Int, head: String, body: String)? {
        let socket = try RawSocket(port: harness.port)
        socket.send("GET \(path) HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        return socket.readResponse()
    }

    private func waitFor(_ what: String, timeout: Double = 10, _ condition: () throws -> Bool) rethrows {
        let deadline = EventLoop.now() + timeout
        while try !condition() {
            guard EventLoop.now() < deadline else { return XCTFail("timed out waiting for \(what)") }
            usleep(20_000)
        }
    }

    func testMaxSessionsAnswers503WithRetryAfterAndReadyzFollows() throws {
        let harness = try GatewayHarness(threads: 2) { $0.limits = SessionLimits(maxSessions: 2) }
        XCTAssertEqual(try get(harness, "/readyz")?.status, 200)
        var held = [try holdSession(harness), try holdSession(harness)]

        let refused = try RawSocket(port: harness.port)
        refused.send(upgrade(user: nil))
        let response = try XCTUnwrap(refused.readResponse())
        XCTAssertEqual(response.status, 503)
        XCTAssertTrue(response.head.lowercased().contains("retry-after: 1"), response.head)
        XCTAssertTrue(response.body.contains(#""reason":"ServiceUnavailable""#), response.body)
        XCTAssertTrue(response.body.contains(#""kind":"Status""#), response.body)

        XCTAssertEqual(try get(harness, "/readyz")?.status, 503)
        XCTAssertEqual(try get(harness, "/healthz")?.status, 200)

        // A session admitted but never started gives its place back when its client leaves.
        held.removeLast()
        try waitFor("/readyz 200") { try get(harness, "/readyz")?.status == 200 }
        held.append(try holdSession(harness))
        XCTAssertEqual(held.count, 2)
    }

    func testSessionsThatRanGiveTheirPlaceBack() throws {
        let harness = try GatewayHarness { $0.limits = SessionLimits(maxSessions: 1) }
        for _ in 0..<3 {
            let r = SessionCases(.spdy, harness: harness).run(["sh", "-c", "echo hi"])
            XCTAssertEqual(r.stdoutText, "hi\n")
            XCTAssertEqual(r.status, .success)
            try waitFor("/readyz 200") { try get(harness, "/readyz")?.status == 200 }
        }
        XCTAssertEqual(harness.gateway.config.limits.activeSessions, 0)
    }

    func testMaxSessionsPerUserAnswers429() throws {
        let harness = try GatewayHarness { $0.limits = SessionLimits(maxSessionsPerUser: 1) }
        let held = try holdSession(harness)
        let refused = try RawSocket(port: harness.port)
        refused.send(upgrade(user: nil))
        let response = try XCTUnwrap(refused.readResponse())
        XCTAssertEqual(response.status, 429)
        XCTAssertTrue(response.head.lowercased().contains("retry-after:"), response.head)
        XCTAssertTrue(response.body.contains(#""reason":"TooManyRequests""#), response.body)
        XCTAssertTrue(response.body.contains("system:anonymous"), response.body)
        // The per-user limit is not the gateway's: still ready.
        XCTAssertEqual(try get(harness, "/readyz")?.status, 200)
        withExtendedLifetime(held) {}
    }

    func testMaxConnectionsPausesAcceptingUntilOneCloses() throws {
        let harness = try GatewayHarness { $0.maxConnections = 2 }
        var open = [try RawSocket(port: harness.port), try RawSocket(port: harness.port)]
        try waitFor("two accepted") { harness.gateway.acceptedPerLoop.reduce(0, +) == 2 }
        // The third waits in the kernel's queue: connected, but not served.
        let third = try RawSocket(port: harness.port, timeout: 1)
        third.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertNil(third.readResponse())
        XCTAssertEqual(harness.gateway.acceptedPerLoop.reduce(0, +), 2)
        open.removeFirst()
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(third.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        XCTAssertEqual(third.readResponse()?.status, 200)
        withExtendedLifetime(open) {}
    }

    func testMaxConnectionsClosesIdleKeepAliveFirst() throws {
        let harness = try GatewayHarness { $0.maxConnections = 2 }
        let idle = try RawSocket(port: harness.port)
        idle.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(idle.readResponse()?.status, 200) // now an idle keep-alive connection
        let busy = try RawSocket(port: harness.port)
        busy.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n") // in the middle of a head: not idle
        let third = try RawSocket(port: harness.port)
        third.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(third.readResponse()?.status, 200)
        XCTAssertTrue(idle.peerClosed())
        busy.send("\r\n")
        XCTAssertEqual(busy.readResponse()?.status, 200)
    }

    func testStalledReaderEndsWithTimeoutStatus() throws {
        let harness = try GatewayHarness { $0.bridge.stallTimeout = 1 }
        let r = ExecRun()
        r.onTick = { run in
            // Never read again; once the gateway has ended the session, read what is left.
            run.pauseReading(harness.gateway.sessionsEnded == 0)
        }
        r.run(.spdy, port: harness.port, path: SessionCases.path(["head", "-c", "100000000", "/dev/zero"], "output=1"), timeout: 60)
        XCTAssertEqual(harness.gateway.sessionsEnded, 1)
        XCTAssertLessThan(r.stdout.count, 100_000_000)
        XCTAssertNotEqual(r.status, .success)
        XCTAssertEqual(r.status, .failure(message: "stalled: client not reading for 1s", reason: "Timeout", code: 504))
    }

    func testIdleKeepAliveAndStreamlessSPDYConnectionsAreBounded() throws {
        let harness = try GatewayHarness {
            $0.keepAliveTimeout = 0.3
            $0.bridge.streamCreationTimeout = 0.3
        }
        let keepAlive = try RawSocket(port: harness.port)
        keepAlive.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(keepAlive.readResponse()?.status, 200)
        XCTAssertTrue(keepAlive.peerClosed(), "an idle keep-alive connection is closed")

        let spdy = try holdSession(harness)
        XCTAssertTrue(spdy.peerClosed(), "a SPDY connection that never opens its streams is closed")
        try waitFor("the place given back") { harness.gateway.config.limits.activeSessions == 0 }
    }

    func testSocketsGetBoundedKernelBuffers() throws {
        let harness = try GatewayHarness { $0.socketBufferSize = 64 * 1024 }
        let socket = try RawSocket(port: harness.port)
        socket.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 200)
        // The gateway's end of this connection: the one socket in this process connected to our port.
        var found = false
        for fd in 3..<4096 {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let rc = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(Int32(fd), $0, &length) }
            }
            var local = sockaddr_in()
            var localLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.fd, $0, &localLength) }
            }
            guard rc == 0, fd != socket.fd, peer.sin_port == local.sin_port, peer.sin_family == sa_family_t(AF_INET) else { continue }
            var size: Int32 = 0
            var sizeLength = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(Int32(fd), SOL_SOCKET, SO_RCVBUF, &size, &sizeLength)
            XCTAssertEqual(size, 2 * 64 * 1024, "Linux reports twice the value set")
            getsockopt(Int32(fd), SOL_SOCKET, SO_SNDBUF, &size, &sizeLength)
            XCTAssertEqual(size, 2 * 64 * 1024)
            found = true
        }
        XCTAssertTrue(found, "the gateway's socket of this connection")
    }

    /// A local command may compute before it reads its input: its pipe bounds what the session
    /// holds, so only network peers are held to the stall timeout.
    func testCommandThatReadsItsInputLateIsNotAStall() throws {
        let harness = try GatewayHarness { $0.bridge.stallTimeout = 0.5 }
        let input = randomBytes(8 * 1024 * 1024)
        let r = SessionCases(.spdy, harness: harness).run(["sh", "-c", "sleep 2; wc -c"], flags: "input=1&output=1&error=1",
                                                          stdin: input, timeout: 30)
        XCTAssertEqual(r.status, .success)
        XCTAssertEqual(String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "\(input.count)")
    }

    func testPerUserLimitCountsEachUserApart() throws {
        let dir = NSTemporaryDirectory() + "execbridge-limits-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Token = user name here, so that `holdSession(user:)` can send it as the bearer token.
        try "alice,alice,1,\"devs\"\nbob,bob,2,\"devs\"\n".write(toFile: dir + "/tokens.csv", atomically: true, encoding: .utf8)
        var settings = SecuritySettings()
        settings.tokenFile = dir + "/tokens.csv"
        settings.tokenReloadInterval = 0
        var installError: Error?
        let harness = try GatewayHarness { config in
            do { try settings.install(into: &config) } catch { installError = error }
            config.limits = SessionLimits(maxSessionsPerUser: 1)
        }
        if let installError { throw installError }
        let alice = try holdSession(harness, user: "alice")
        let again = try RawSocket(port: harness.port)
        again.send(upgrade(user: "alice"))
        let response = try XCTUnwrap(again.readResponse())
        XCTAssertEqual(response.status, 429)
        XCTAssertTrue(response.body.contains("user alice"), response.body)
        let bob = try holdSession(harness, user: "bob")
        withExtendedLifetime((alice, bob)) {}
    }
}
