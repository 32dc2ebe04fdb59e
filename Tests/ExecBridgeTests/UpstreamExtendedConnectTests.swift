@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import Reactor
import XCTest

/// Issue 15 item 2: `--backend wss://` sessions go as RFC 8441 extended CONNECT streams on pooled
/// HTTP/2 connections when the upstream offers it (ALPN h2 and SETTINGS_ENABLE_CONNECT_PROTOCOL),
/// and fall back to one HTTP/1.1 upgrade per session when it does not.
/// Gateway A (`--backend wss://`) → counting TCP relay → gateway B (TLS, local backend).
final class UpstreamExtendedConnectTests: XCTestCase {
    /// `upstreamALPN`: what B's TLS agrees to (["http/1.1"]: an upstream without HTTP/2).
    private func wssPair(upstreamALPN: [String] = ["h2", "http/1.1"],
                         settings: @escaping (inout BackendSettings) -> Void = { _ in }) throws -> UpstreamPair {
        let files = try TestCertificate.shared()
        return try UpstreamPair(.wss, relayed: true, settings: { backend in
            backend.caFile = files.cert
            settings(&backend)
        }, upstreamConfig: { config in
            config.tls = try? TLSContext(certificate: files.cert, key: files.key, alpn: upstreamALPN)
        })
    }

    private func gate() -> String {
        let path = NSTemporaryDirectory() + "execbridge-8441-\(UUID().uuidString)"
        addTeardownBlock { unlink(path) }
        return path
    }

    /// Waits for `gate` to exist, then prints `text` and exits with `code`.
    private func gated(_ gate: String, _ text: String, code: Int = 0) -> [String] {
        ["sh", "-c", "while [ ! -e \(gate) ]; do sleep 0.02; done; echo \(text); exit \(code)"]
    }

    private func runConcurrently(_ pair: UpstreamPair, _ argvs: [[String]], whileRunning: () -> Void) -> [ExecRun] {
        let results = argvs.map { _ in ExecRun() }
        let group = DispatchGroup()
        for (i, argv) in argvs.enumerated() {
            let run = UncheckedBox(results[i])
            let port = pair.gateway.port
            group.enter()
            Thread {
                run.value.run(.h2Prior, port: port, path: SessionCases.path(argv, "output=1&error=1"), timeout: 60)
                group.leave()
            }.start()
        }
        whileRunning()
        group.wait()
        return results
    }

    private func poll(_ condition: () -> Bool) -> Bool {
        let deadline = EventLoop.now() + 30
        while !condition() {
            if EventLoop.now() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// RFC 8441 has no key (nor Upgrade header); an HTTP/1.1 upgrade always has one.
    private func isExtendedConnect(_ seen: RequestRecorder.Seen) -> Bool {
        seen.header("sec-websocket-version") == ["13"] && !seen.headers.contains { $0.name.lowercased() == "sec-websocket-key" }
    }

    func testConcurrentSessionsShareOneUpstreamConnectionAsExtendedConnectStreams() throws {
        let pair = try wssPair()
        let relay = try XCTUnwrap(pair.relay)
        let gate = gate()
        let runs = runConcurrently(pair, (0..<8).map { gated(gate, "session-\($0)", code: $0 * 3) }) {
            XCTAssertTrue(poll { pair.seen.all.count >= 8 }, "the upstream saw \(pair.seen.all.count) sessions")
            open(gate)
        }
        for (i, run) in runs.enumerated() {
            XCTAssertEqual(run.stdoutText, "session-\(i)\n", "session \(i)")
            XCTAssertEqual(run.exitCode, i * 3, "session \(i): \(String(describing: run.status))")
        }
        XCTAssertEqual(runs[0].status, .success)
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1, "sessions did not share the upstream connection")
        XCTAssertEqual(pair.seen.all.count, 8)
        for seen in pair.seen.all {
            XCTAssertTrue(isExtendedConnect(seen), "\(seen.headers)")
            XCTAssertTrue(seen.header("sec-websocket-protocol").first?.hasPrefix("v5.channel.k8s.io, v4.channel.k8s.io") == true)
        }
    }

    func testStdinEOFOutputAndResizeCrossAnExtendedConnectStream() throws {
        let pair = try wssPair()
        let relay = try XCTUnwrap(pair.relay)
        // 1 MiB through cat: stdin (masked frames), the v5 close signal for EOF, stdout back.
        let input = randomBytes(1 << 20)
        let cat = ExecRun(stdin: input).run(.h2Prior, port: pair.gateway.port,
                                            path: SessionCases.path(["cat"], "input=1&output=1&error=1"))
        XCTAssertTrue(cat.stdout == input, "\(cat.stdout.count) bytes back")
        XCTAssertEqual(cat.status, .success)
        let err = ExecRun().run(.spdy, port: pair.gateway.port,
                                path: SessionCases.path(["sh", "-c", "echo out; echo err >&2; exit 7"]))
        XCTAssertEqual(err.stdoutText, "out\n")
        XCTAssertEqual(err.stderrText, "err\n")
        XCTAssertEqual(err.exitCode, 7)
        let tty = ExecRun(resizes: [TerminalSize(width: 91, height: 19)])
            .run(.spdy, port: pair.gateway.port,
                 path: SessionCases.path(["sh", "-c", SessionCases.awaitSize(rows: 19, cols: 91)], "output=1&tty=1"), tty: true)
        XCTAssertTrue(tty.stdoutText.contains("19 91"), tty.stdoutText)
        XCTAssertTrue(pair.seen.all.allSatisfy(isExtendedConnect))
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1)
    }

    func testAnUpstreamWithoutHTTP2GetsOneHTTP1UpgradePerSession() throws {
        let pair = try wssPair(upstreamALPN: ["http/1.1"])
        let relay = try XCTUnwrap(pair.relay)
        for i in 0..<3 {
            let input = randomBytes(64 * 1024, seed: UInt64(i + 1))
            let run = ExecRun(stdin: input).run(.h2Prior, port: pair.gateway.port,
                                                path: SessionCases.path(["sh", "-c", "cat; exit \(i + 1)"], "input=1&output=1&error=1"))
            XCTAssertTrue(run.stdout == input, "session \(i): \(run.stdout.count) bytes back")
            XCTAssertEqual(run.exitCode, i + 1, "session \(i): \(String(describing: run.status))")
        }
        XCTAssertEqual(pair.seen.all.count, 3)
        for seen in pair.seen.all {
            XCTAssertFalse(isExtendedConnect(seen))
            XCTAssertTrue(seen.headers.contains { $0.name.lowercased() == "sec-websocket-key" }, "\(seen.headers)")
        }
        // The pool's first dial learned it; later sessions do not try h2 again: one connection each.
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 4)
    }

    func testAKilledPooledConnectionFailsOnlyItsWebSocketSessionsAndThePoolHeals() throws {
        let pair = try wssPair(settings: { $0.maxSessionsPerConnection = 2 })
        let relay = try XCTUnwrap(pair.relay)
        let gate = gate()
        let runs = runConcurrently(pair, [gated(gate, "a"), gated(gate, "b"), gated(gate, "c")]) {
            XCTAssertTrue(poll { processes(containing: gate).count >= 3 })
            relay.cut(connection: 0)
            XCTAssertTrue(poll { relay.closedByDialer.load(ordering: .relaxed) >= 1 })
            open(gate)
        }
        let failed = runs.filter { $0.status != .success }
        let succeeded = runs.filter { $0.status == .success }
        XCTAssertEqual(failed.count, 2, "\(runs.map { String(describing: $0.status) })")
        XCTAssertEqual(succeeded.count, 1)
        for run in failed {
            XCTAssertEqual(run.status, .internalError("lost connection to backend"))
            XCTAssertNil(run.exitCode)
        }
        XCTAssertEqual(succeeded.first?.stdoutText.count, 2)
        let next = ExecRun().run(.h2Prior, port: pair.gateway.port, path: SessionCases.path(["echo", "healed"]))
        XCTAssertEqual(next.stdoutText, "healed\n")
        XCTAssertEqual(next.status, .success)
    }

    func testAnUpstreamRefusalOnTheStreamIsTheSessionsStatusAndTheConnectionServesTheNext() throws {
        let pair = try wssPair()
        let relay = try XCTUnwrap(pair.relay)
        pair.seen.refuse(with: RequestError(code: 403, reason: "Forbidden", message: "no exec for you"))
        let refused = ExecRun().run(.h2Prior, port: pair.gateway.port, path: SessionCases.path(["echo", "x"]))
        XCTAssertEqual(refused.status, .failure(message: "no exec for you", reason: "Forbidden", code: 403))
        XCTAssertEqual(refused.stdout, [])
        pair.seen.refuse(with: nil)
        let next = ExecRun().run(.spdy, port: pair.gateway.port, path: SessionCases.path(["echo", "next"]))
        XCTAssertEqual(next.stdoutText, "next\n")
        XCTAssertEqual(next.status, .success)
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1)
    }

    private func open(_ gate: String) { FileManager.default.createFile(atPath: gate, contents: nil) }
}
