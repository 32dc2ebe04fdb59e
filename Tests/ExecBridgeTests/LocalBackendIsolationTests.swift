@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import XCTest

/// Children are isolated and end with their session (issue 12): each leads a session of its own,
/// without the gateway's terminal, and nothing it starts outlives the session, however it
/// detaches. Processes are looked up by a unique argv tag; every wait is a poll with a deadline.
final class LocalBackendIsolationTests: XCTestCase {
    private var tags: [String] = []
    private let harness = LocalBackendHarness()
    private let backend = LocalBackend(inventory: nil, graceSeconds: 0.5)

    override func tearDown() {
        ProcessTags.cleanUp(tags)
        // XCTest keeps every test case (and so this harness) until the process exits.
        harness.finish()
    }

    private func tag() -> String {
        let tag = ProcessTags.unique()
        tags.append(tag)
        return tag
    }

    /// Runs the gateway's loop (where the reaper's timers fire) until no process carries `tag`.
    private func runUntilGone(_ tag: String, file: StaticString = #filePath, line: UInt = #line) {
        let gone = harness.run(until: { ProcessTags.pids(tag).isEmpty }, limit: 20)
        XCTAssertTrue(gone, "still running: \(ProcessTags.pids(tag)) with \(tag)", file: file, line: line)
    }

    /// Shell code that waits until a process with `tag` runs (the bracket keeps grep's own
    /// command line from matching), then says so: the test then knows the detached process existed.
    private func awaitTag(_ tag: String) -> String {
        let pattern = "[" + tag.prefix(1) + "]" + tag.dropFirst().replacingOccurrences(of: ".", with: "\\.")
        return "until grep -qs '\(pattern)' /proc/[0-9]*/cmdline; do :; done; echo started"
    }

    // MARK: Sessions

    func testChildLeadsItsOwnSession() {
        let script = #"read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; echo "$$ $sid""#
        for tty in [false, true] {
            let run = harness.runToExit(LocalBackendHarness.request(["sh", "-c", script], tty: tty), backend: backend)
            let fields = run.stdoutText.split(whereSeparator: \.isWhitespace)
            XCTAssertEqual(fields.count, 2, run.stdoutText)
            XCTAssertEqual(fields.first, fields.last, "session id == pid (tty: \(tty))")
            XCTAssertEqual(fields.first.flatMap { pid_t($0) }, run.pid)
        }
    }

    func testAnotherUserGetsNoNewPrivileges() throws {
        try XCTSkipUnless(geteuid() == 0, "switching users needs root")
        let local = LocalBackend(inventory: Inventory(pods: [
            PodSpec(namespace: "default", name: "web", containers: [ContainerSpec(name: "app", user: "nobody")]),
        ]))
        let run = harness.runToExit(LocalBackendHarness.request(["grep", "NoNewPrivs", "/proc/self/status"]), backend: local)
        XCTAssertEqual(run.stdoutText.split(whereSeparator: \.isWhitespace).last, "1", run.stdoutText)
        // The gateway's own user inherits the gateway's setting (sudo keeps working where it did).
        let own = harness.runToExit(LocalBackendHarness.request(["grep", "NoNewPrivs", "/proc/self/status"]), backend: backend)
        let gateway = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("NoNewPrivs") }?.split(whereSeparator: \.isWhitespace).last
        XCTAssertEqual(own.stdoutText.split(whereSeparator: \.isWhitespace).last, gateway)
    }

    // MARK: Nothing outlives its session

    func testBackgroundJobEndsWithTheSession() {
        let tag = tag()
        let run = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "sleep \(tag) & \(awaitTag(tag)); exit 0"]), backend: backend)
        XCTAssertEqual(run.status, .success, "the leader's status, once the job holding stdout is ended")
        XCTAssertEqual(run.stdoutText, "started\n")
        runUntilGone(tag)
    }

    func testDetachedBackgroundJobEndsWithTheSession() {
        let tag = tag()
        let run = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "sleep \(tag) >/dev/null 2>&1 & \(awaitTag(tag)); exit 0"]),
                                    backend: backend)
        XCTAssertEqual(run.status, .success)
        XCTAssertEqual(run.stdoutText, "started\n")
        runUntilGone(tag)
    }

    func testBackgroundJobEndsWhenTheClientGoes() {
        let tag = tag()
        let recorder = LocalBackendRecorder()
        let session = backend.startProcessSession(
            LocalBackendHarness.request(["sh", "-c", "sleep \(tag) & cat"], stdin: true), on: harness.loop, delegate: recorder)
        XCTAssertTrue(harness.run(until: { !ProcessTags.pids(tag).isEmpty }, limit: 20))
        session.terminate(.clientGone)
        runUntilGone(tag)
        withExtendedLifetime(session) {}
    }

    func testSetpgidJobEndsWithTheSession() {
        let tag = tag()
        let perl = #"perl -e 'setpgrp(0, 0); exec "sleep", "\#(tag)"' >/dev/null 2>&1 & \#(awaitTag(tag)); exit 0"#
        let run = harness.runToExit(LocalBackendHarness.request(["sh", "-c", perl]), backend: backend)
        XCTAssertEqual(run.status, .success)
        XCTAssertEqual(run.stdoutText, "started\n")
        runUntilGone(tag)
    }

    func testSetsidJobEndsWithTheSession() {
        let tag = tag()
        let run = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "setsid sleep \(tag) >/dev/null 2>&1 & \(awaitTag(tag)); exit 0"]),
                                    backend: backend)
        XCTAssertEqual(run.status, .success)
        XCTAssertEqual(run.stdoutText, "started\n")
        runUntilGone(tag)
    }

    func testDoubleForkEndsWithTheSession() {
        let tag = tag()
        let run = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "(sleep \(tag) >/dev/null 2>&1 &); \(awaitTag(tag)); exit 0"]),
                                    backend: backend)
        XCTAssertEqual(run.status, .success)
        XCTAssertEqual(run.stdoutText, "started\n")
        runUntilGone(tag)
    }

    /// Runs the loop until `pid` (an escapee re-parented to the gateway) is gone and reaped.
    private func runUntilReaped(_ pid: pid_t, file: StaticString = #filePath, line: UInt = #line) {
        let gone = harness.run(until: { ProcessTable.entry(pid) == nil }, limit: 20)
        XCTAssertTrue(gone, "process \(pid) still there: \(String(describing: ProcessTable.entry(pid)))", file: file, line: line)
    }

    // An escapee (setsid after a double fork) may be ended before it even runs `sleep`, so these
    // tests learn its pid from the shell ($! of `setsid`, which does not fork again here) rather
    // than wait to see it.

    func testDoubleForkAndSetsidIsEnded() throws {
        let tag = tag()
        let run = harness.runToExit(LocalBackendHarness.request(
            ["sh", "-c", "(setsid sleep \(tag) >/dev/null 2>&1 & echo $!); exit 0"]), backend: backend)
        XCTAssertEqual(run.status, .success)
        let pid = try XCTUnwrap(pid_t(run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), run.stdoutText)
        runUntilReaped(pid)
        XCTAssertTrue(ProcessTags.pids(tag).isEmpty)
    }

    func testEscapeeOfALiveSessionIsEnded() throws {
        // The session still runs; what escaped it by double fork and setsid ends anyway.
        let tag = tag()
        let recorder = LocalBackendRecorder()
        let session = backend.startProcessSession(
            LocalBackendHarness.request(["sh", "-c", "(setsid sleep \(tag) >/dev/null 2>&1 & echo $!); cat"], stdin: true),
            on: harness.loop, delegate: recorder)
        XCTAssertTrue(harness.run(until: { recorder.stdoutText.hasSuffix("\n") }, limit: 20))
        let pid = try XCTUnwrap(pid_t(recorder.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), recorder.stdoutText)
        runUntilReaped(pid)
        XCTAssertTrue(ProcessTags.pids(tag).isEmpty)
        XCTAssertNil(recorder.status, "the session itself goes on")
        session.terminate(.clientGone)
        harness.run(until: { LocalBackendProcFS.isReaped(session.pid ?? 0) }, limit: 20)
    }

    func testReparentedZombiesAreReaped() {
        // Each double fork leaves a grandchild that exits at once: re-parented to the gateway, it must
        // be reaped (and the gateway's own session leaders never lose their status to it).
        let tag = tag()
        let run = harness.runToExit(LocalBackendHarness.request(
            ["sh", "-c", "for i in 1 2 3 4 5; do (sh -c 'exit 0' &); done; (sleep \(tag) >/dev/null &); \(awaitTag(tag)); exit 7"]), backend: backend)
        XCTAssertEqual(run.status, .exited(7))
        XCTAssertEqual(run.stdoutText, "started\n")
        runUntilGone(tag)
        // Only this session's grandchildren (their session id is its leader's pid): zombies of
        // tests running beside this one in the process are theirs to reap.
        let leader = run.pid ?? -1
        let zombiesLeft = harness.run(until: { Self.zombieChildren(ofSession: leader).isEmpty }, limit: 20)
        XCTAssertTrue(zombiesLeft, "zombie children: \(Self.zombieChildren(ofSession: leader))")
    }

    private static func zombieChildren(ofSession sid: pid_t) -> [pid_t] {
        ProcessTable.all().filter { $0.ppid == getpid() && $0.isZombie && $0.sid == sid }.map(\.pid)
    }
}
