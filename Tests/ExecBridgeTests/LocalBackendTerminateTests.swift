import ExecBridge
import ExecModel
import Glibc
import XCTest

/// `terminate` when the client is gone: the child is stopped and reaped, the session frees itself.
final class LocalBackendTerminateTests: XCTestCase {
    /// Starts `request`, waits for its pid, terminates it as a vanished client would, drops every
    /// reference and runs the loop until the session has freed itself (it lives until the reap).
    private func terminateAndWait(_ request: ExecRequest, grace: Double = 0.1,
                                  line: UInt = #line) -> (pid: pid_t, recorder: LocalBackendRecorder) {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        var session: LocalProcessSession? = LocalBackend(inventory: nil, graceSeconds: grace)
            .startProcessSession(request, on: harness.loop, delegate: recorder)
        weak let weakSession = session
        harness.run(until: { session?.pid != nil })
        let pid = session?.pid ?? -1
        XCTAssertGreaterThan(pid, 0, line: line)
        XCTAssertTrue(LocalBackendProcFS.processExists(pid), line: line)
        session?.terminate(.clientGone)
        session = nil
        XCTAssertNotNil(weakSession, "freed before its child was reaped", line: line)
        XCTAssertTrue(harness.run(until: { weakSession == nil }), "session never freed itself", line: line)
        XCTAssertFalse(LocalBackendProcFS.processExists(pid), "process \(pid) still exists", line: line)
        XCTAssertTrue(LocalBackendProcFS.isReaped(pid), line: line)
        return (pid, recorder)
    }

    func testClientGoneStopsSleepWithoutTTY() {
        let (_, recorder) = terminateAndWait(LocalBackendHarness.request(["sleep", "1000"], stdin: true))
        XCTAssertNil(recorder.status, "nothing is emitted after terminate")
        XCTAssertEqual(recorder.log, [])
    }

    func testClientGoneHangsUpATTYSession() {
        // SIGHUP ends it at once: a grace this long shows no SIGTERM/SIGKILL was needed.
        let (_, recorder) = terminateAndWait(LocalBackendHarness.request(["sleep", "1000"], stdin: true, tty: true),
                                             grace: 1000)
        XCTAssertNil(recorder.status)
    }

    func testSigtermIsFollowedBySigkill() {
        // The shell ignores SIGTERM (its `sleep`s do not): only SIGKILL ends it.
        _ = terminateAndWait(LocalBackendHarness.request(
            ["sh", "-c", "trap '' TERM HUP; while :; do sleep 0.05; done"], stdin: true))
    }

    func testTerminateWhileOutputIsPausedStillReaps() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        var session: LocalProcessSession? = LocalBackend(inventory: nil, graceSeconds: 0.1)
            .startProcessSession(LocalBackendHarness.request(["yes"]), on: harness.loop, delegate: recorder)
        weak let weakSession = session
        session?.setReading(false)
        harness.run(until: { session?.pid != nil })
        let pid = session?.pid ?? -1
        session?.terminate(.clientGone)
        session = nil
        XCTAssertTrue(harness.run(until: { weakSession == nil }))
        XCTAssertTrue(LocalBackendProcFS.isReaped(pid))
    }

    func testTerminateBeforeStartSpawnsNothing() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        var session: LocalProcessSession? = LocalBackend(inventory: nil)
            .startProcessSession(LocalBackendHarness.request(["sleep", "1000"]), on: harness.loop, delegate: recorder)
        weak let weakSession = session
        session?.terminate(.clientGone)
        XCTAssertNil(session?.pid)
        session = nil
        XCTAssertNil(weakSession)
        harness.run(for: 0.05)
        XCTAssertEqual(recorder.log, [])
    }

    func testCompletedAfterExitJustFrees() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        var session: LocalProcessSession? = LocalBackend(inventory: nil)
            .startProcessSession(LocalBackendHarness.request(["echo", "done"]), on: harness.loop, delegate: recorder)
        weak let weakSession = session
        harness.run(until: { recorder.status != nil })
        let pid = session?.pid ?? -1
        session?.terminate(.completed)
        session = nil
        XCTAssertNil(weakSession)
        XCTAssertTrue(LocalBackendProcFS.isReaped(pid))
        XCTAssertEqual(recorder.stdoutText, "done\n")
        XCTAssertEqual(recorder.eventsAfterExit, 0)
    }

    func testDroppedSessionRunsToItsEndAndFreesItself() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        var session: LocalProcessSession? = LocalBackend(inventory: nil)
            .startProcessSession(LocalBackendHarness.request(["sh", "-c", "echo bye"]), on: harness.loop, delegate: recorder)
        weak let weakSession = session
        session = nil
        XCTAssertTrue(harness.run(until: { weakSession == nil }))
        XCTAssertEqual(recorder.status, .success)
    }
}
