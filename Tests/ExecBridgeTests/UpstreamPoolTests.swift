@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import Reactor
import XCTest

/// Issue 15 item 2: `--backend h2c://` sessions share a small pool of upstream connections,
/// dialled ahead; a pooled connection that fails fails only its own sessions, and the pool heals.
/// Gateway A (the pool) → counting TCP relay → gateway B (local backend, many sessions per connection).
final class UpstreamPoolTests: XCTestCase {
    /// A command that waits for `gate` to exist, then prints `text` and exits with `code`.
    private func gated(_ gate: String, _ text: String, code: Int = 0) -> [String] {
        ["sh", "-c", "while [ ! -e \(gate) ]; do sleep 0.02; done; echo \(text); exit \(code)"]
    }

    private func gate() -> String {
        let path = NSTemporaryDirectory() + "execbridge-pool-\(UUID().uuidString)"
        addTeardownBlock { unlink(path) }
        return path
    }

    private func open(_ gate: String) { FileManager.default.createFile(atPath: gate, contents: nil) }

    /// Runs `argvs` concurrently through `pair`'s gateway (HTTP/2 clients), each on its own thread.
    private func runConcurrently(_ pair: UpstreamPair, _ argvs: [[String]], whileRunning: () -> Void = {}) -> [ExecRun] {
        let results = Array(repeating: ExecRun(), count: argvs.count).map { _ in ExecRun() }
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

    func testConcurrentSessionsShareOneUpstreamConnection() throws {
        let pair = try UpstreamPair(.h2c, relayed: true)
        let relay = try XCTUnwrap(pair.relay)
        let gate = gate()
        let argvs = (0..<8).map { gated(gate, "session-\($0)", code: $0 * 3) }
        let runs = runConcurrently(pair, argvs) {
            // Every session is running upstream at once before any may end.
            XCTAssertTrue(poll { pair.seen.all.count >= 8 }, "the upstream saw \(pair.seen.all.count) sessions")
            open(gate)
        }
        for (i, run) in runs.enumerated() {
            XCTAssertEqual(run.stdoutText, "session-\(i)\n", "session \(i)")
            XCTAssertEqual(run.exitCode, i * 3, "session \(i): \(String(describing: run.status))")
            if i == 0 { XCTAssertEqual(run.status, .success) }
        }
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1, "sessions did not share the upstream connection")
    }

    func testAtMostTwoSessionsPerConnectionGiveThreeConnectionsForFiveSessions() throws {
        let pair = try UpstreamPair(.h2c, relayed: true, settings: { $0.maxSessionsPerConnection = 2 })
        let relay = try XCTUnwrap(pair.relay)
        let gate = gate()
        let runs = runConcurrently(pair, (0..<5).map { gated(gate, "s\($0)") }) {
            XCTAssertTrue(poll { pair.seen.all.count >= 5 })
            open(gate)
        }
        XCTAssertEqual(runs.map(\.stdoutText), (0..<5).map { "s\($0)\n" })
        XCTAssertEqual(runs.map(\.status), Array(repeating: .success, count: 5))
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 3)
    }

    func testTheUpstreamsStreamLimitCapsSessionsPerConnection() throws {
        // Three streams per session (error, stdout, stderr) and at most three open at once upstream:
        // one session per connection, whatever --backend-max-sessions-per-connection says.
        let pair = try UpstreamPair(.h2c, relayed: true, upstreamConfig: { $0.bridge.maxConcurrentStreams = 3 })
        let relay = try XCTUnwrap(pair.relay)
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 })
        let gate = gate()
        let runs = runConcurrently(pair, (0..<3).map { gated(gate, "t\($0)", code: $0 + 1) }) {
            XCTAssertTrue(poll { processes(containing: gate).count >= 3 })
            open(gate)
        }
        XCTAssertEqual(runs.map(\.stdoutText), ["t0\n", "t1\n", "t2\n"])
        XCTAssertEqual(runs.map(\.exitCode), [1, 2, 3])
        // One connection per session, and a fourth dialled ahead when the third filled.
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) >= 4 })
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 4)
    }

    func testSessionsThatComeBeforeTheUpstreamsSettingsAreNotPlacedByAGuessedLimit() throws {
        // The upstream carries one session per connection (three streams), but its SETTINGS come
        // only after three sessions were placed. Placed by a guess they would each open their
        // error stream on the first connection and wait for ever for the rest (found under load).
        let admitted = RequestRecorder()
        let pair = try UpstreamPair(.h2c, relayed: true, holdingReplies: true,
                                    upstreamConfig: { $0.bridge.maxConcurrentStreams = 3 },
                                    gatewayConfig: { $0.pipelineExtensions.append(RecordingExtension(recorder: admitted)) })
        let relay = try XCTUnwrap(pair.relay)
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 })
        let gate = gate()
        let runs = runConcurrently(pair, (0..<3).map { gated(gate, "t\($0)", code: $0 + 1) }) {
            // The gateway placed each session in the turn that admitted it.
            XCTAssertTrue(poll { admitted.all.count >= 3 }, "the gateway admitted \(admitted.all.count) sessions")
            relay.releaseReplies()
            XCTAssertTrue(poll { processes(containing: gate).count >= 3 }, "\(processes(containing: gate).count) running")
            open(gate)
        }
        XCTAssertEqual(runs.map(\.stdoutText), ["t0\n", "t1\n", "t2\n"])
        XCTAssertEqual(runs.map(\.exitCode), [1, 2, 3])
        // The two that waited got a connection each, and one more was dialled ahead.
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) >= 4 })
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 4)
    }

    /// Set-up latency: the relayed session's channel streams reach the upstream without waiting for
    /// its answer to the first (each wait was a round trip). With every answer held back, the
    /// upstream still has all the streams, so the command starts.
    func testChannelStreamsDoNotWaitForTheUpstreamsFirstAnswer() throws {
        let pair = try UpstreamPair(.h2c, relayed: true, holdingReplies: true)
        let relay = try XCTUnwrap(pair.relay)
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 })
        let gate = gate()
        let runs = runConcurrently(pair, [gated(gate, "piped", code: 4)]) {
            XCTAssertTrue(poll { processes(containing: gate).count >= 1 }, "nothing ran upstream while its answers were held")
            relay.releaseReplies()
            open(gate)
        }
        XCTAssertEqual(runs.map(\.stdoutText), ["piped\n"])
        XCTAssertEqual(runs.map(\.exitCode), [4])
    }

    func testAKilledPooledConnectionFailsOnlyItsSessionsAndThePoolHeals() throws {
        let pair = try UpstreamPair(.h2c, relayed: true, settings: { $0.maxSessionsPerConnection = 2 })
        let relay = try XCTUnwrap(pair.relay)
        let gate = gate()
        // Sessions 0 and 1 fill the first connection; session 2 goes to the second.
        let runs = runConcurrently(pair, [gated(gate, "a"), gated(gate, "b"), gated(gate, "c")]) {
            // Every command runs upstream: each session had all its streams answered.
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
        // Healed: the next session runs.
        let next = ExecRun().run(.h2Prior, port: pair.gateway.port, path: SessionCases.path(["echo", "healed"]))
        XCTAssertEqual(next.stdoutText, "healed\n")
        XCTAssertEqual(next.status, .success)
    }

    func testTheFirstSessionFindsAConnectionAlreadyOpen() throws {
        let pair = try UpstreamPair(.h2c, relayed: true)
        let relay = try XCTUnwrap(pair.relay)
        // Dialled at start, before any session asked.
        XCTAssertTrue(poll { relay.accepted.load(ordering: .relaxed) == 1 }, "no connection dialled ahead")
        XCTAssertEqual(pair.seen.all.count, 0)
        let run = ExecRun().run(.h2Prior, port: pair.gateway.port, path: SessionCases.path(["echo", "first"]))
        XCTAssertEqual(run.stdoutText, "first\n")
        XCTAssertEqual(run.status, .success)
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1)
    }

    func testSequentialSessionsReuseThePooledConnection() throws {
        let pair = try UpstreamPair(.h2c, relayed: true)
        let relay = try XCTUnwrap(pair.relay)
        for i in 0..<20 {
            let run = ExecRun().run(.spdy, port: pair.gateway.port,
                                    path: SessionCases.path(["sh", "-c", "echo \(i); exit \(i % 4)"]))
            XCTAssertEqual(run.stdoutText, "\(i)\n")
            XCTAssertEqual(run.exitCode, i % 4)
        }
        XCTAssertEqual(relay.accepted.load(ordering: .relaxed), 1)
    }

    func testAnUnreachableUpstreamFailsEachSessionWithTheDialError() throws {
        let gateway = try gatewayWithBackend("h2c://127.0.0.1:\(closedPort())")
        for _ in 0..<2 {
            let run = ExecRun().run(.h2Prior, port: gateway.port, path: SessionCases.path(["echo", "x"]))
            let message = run.status?.message ?? ""
            XCTAssertTrue(message.hasPrefix("error dialing backend: dial tcp 127.0.0.1:"), message)
            XCTAssertTrue(message.contains("connection refused"), message)
        }
    }
}
