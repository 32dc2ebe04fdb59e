import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

final class LocalBackendOutputTests: XCTestCase {
    func testStdoutAndStderrStaySeparateAndExitComesLast() throws {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(
            ["sh", "-c", "printf 'to out'; printf 'to err' >&2; printf ' again'"]))
        XCTAssertEqual(result.stdoutText, "to out again")
        XCTAssertEqual(result.stderrText, "to err")
        XCTAssertEqual(result.status, .success)
        XCTAssertEqual(result.log.last, "exit")
        XCTAssertTrue(result.log.contains("halfClose:stdout"))
        XCTAssertTrue(result.log.contains("halfClose:stderr"))
        XCTAssertEqual(result.eventsAfterExit, 0)
        let pid = try XCTUnwrap(result.pid)
        XCTAssertFalse(LocalBackendProcFS.processExists(pid))
        XCTAssertTrue(LocalBackendProcFS.isReaped(pid))
    }

    func testArgvIsPassedExactlyWithoutAShell() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["printf", "[%s]", "a b", "$HOME", "*", ""]))
        XCTAssertEqual(result.stdoutText, "[a b][$HOME][*][]")
        XCTAssertEqual(result.status, .success)
    }

    func testExitCodes() {
        let harness = LocalBackendHarness()
        for code in [0, 1, 3, 255] {
            let result = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "exit \(code)"]))
            XCTAssertEqual(result.status, .exited(code), "exit \(code)")
            XCTAssertEqual(result.status?.exitCode, code)
        }
        let failing = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "exit 3"]))
        XCTAssertEqual(failing.status?.message, "command terminated with non-zero exit code: exit status 3")
    }

    func testDeathBySignal() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "kill -9 $$"]))
        XCTAssertEqual(result.status, .exitCode(137, detail: "signal: killed"))
        XCTAssertEqual(result.status?.message, "command terminated with non-zero exit code: signal: killed")
    }

    func testSignalsAreResetToDefaultInTheChild() {
        // The gateway ignores SIGPIPE; a pipeline in the child must still see it.
        let harness = LocalBackendHarness()
        // With SIGPIPE ignored `yes` would report "Broken pipe" on stderr instead of dying quietly.
        let result = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "yes | head -c 4"]))
        XCTAssertEqual(result.stdoutText, "y\ny\n")
        XCTAssertEqual(result.stderrText, "")
        XCTAssertEqual(result.status, .success)
    }

    func testUnrequestedOutputsAreNotForwarded() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(
            ["sh", "-c", "echo out; echo err >&2; exit 4"], stdout: true, stderr: false))
        XCTAssertEqual(result.stdoutText, "out\n")
        XCTAssertEqual(result.stderr, [])
        XCTAssertEqual(result.log, ["data:stdout", "halfClose:stdout", "exit"])
        XCTAssertEqual(result.status, .exited(4))
    }

    func testChildSeesOnlyItsStandardDescriptors() {
        let harness = LocalBackendHarness()
        // `ls` itself holds one more descriptor: the directory it lists.
        let result = harness.runToExit(LocalBackendHarness.request(["ls", "/proc/self/fd"]))
        XCTAssertEqual(result.stdoutText, "0\n1\n2\n3\n")
    }

    func testSlowReaderKeepsNothingBuffered() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["head", "-c", "100M", "/dev/zero"]), on: harness.loop, delegate: recorder)
        var total = 0
        var events = 0
        var paused = false
        var dataWhilePaused = 0
        var pauses = 0
        var pauseTimer: LoopTimer?
        var largestPending = 0
        recorder.onData = { _, bytes in
            if paused { dataWhilePaused += 1 }
            total += bytes.count
            events += 1
            largestPending = max(largestPending, session.pendingBytes)
            // Every 200th read, stop reading for a moment: a client whose window is full.
            if events % 200 == 0 {
                paused = true
                pauses += 1
                session.setReading(false)
                pauseTimer = LoopTimer(loop: harness.loop, after: 0.02) {
                    paused = false
                    session.setReading(true)
                }
            }
        }
        XCTAssertTrue(harness.run(until: { recorder.status != nil }, limit: 120))
        withExtendedLifetime(pauseTimer) {}
        XCTAssertEqual(total, 100 << 20)
        XCTAssertEqual(recorder.status, .success)
        XCTAssertGreaterThan(pauses, 0)
        XCTAssertEqual(dataWhilePaused, 0, "output arrived while reading was off")
        XCTAssertLessThanOrEqual(recorder.largestChunk, harness.loop.scratch.count)
        XCTAssertEqual(largestPending, 0)
    }

    func testExitWaitsForOutputWhileReadingIsOff() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["sh", "-c", "echo late"]), on: harness.loop, delegate: recorder)
        session.setReading(false)
        harness.run(for: 0.3)
        XCTAssertNil(recorder.status, "exit before its output was read")
        XCTAssertEqual(recorder.stdout, [])
        session.setReading(true)
        harness.run(until: { recorder.status != nil })
        XCTAssertEqual(recorder.stdoutText, "late\n")
        XCTAssertEqual(recorder.log.first, "data:stdout")
        XCTAssertEqual(Set(recorder.log.dropFirst().dropLast()), ["halfClose:stdout", "halfClose:stderr"])
        XCTAssertEqual(recorder.log.last, "exit")
    }

    func testNoDescriptorIsLeftOpen() {
        let harness = LocalBackendHarness()
        _ = harness.runToExit(LocalBackendHarness.request(["true"]))
        let before = LocalBackendProcFS.openDescriptorCount()
        _ = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "echo x; echo y >&2"], stdin: true))
        _ = harness.runToExit(LocalBackendHarness.request(["tty"], stdin: true, tty: true))
        _ = harness.runToExit(LocalBackendHarness.request(["no-such-command-for-local-backend"], stdin: true))
        _ = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "kill -9 $$"], stdin: true, tty: true))
        XCTAssertLessThanOrEqual(LocalBackendProcFS.descriptorCount(fallingTo: before), before)
    }
}
