import ExecBridge
import ExecModel
import Glibc
import XCTest

final class LocalBackendTTYTests: XCTestCase {
    func testTTYIsAPseudoTerminal() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["tty"], stdin: true, tty: true))
        XCTAssertTrue(result.stdoutText.hasPrefix("/dev/pts/"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.hasSuffix("\r\n"), "the terminal's ONLCR is on")
        XCTAssertEqual(result.status, .success)
        XCTAssertEqual(result.log, ["data:stdout", "halfClose:stdout", "exit"])
    }

    func testTerminalIsTheControllingTerminal() {
        // /dev/tty opens only for a process with a controlling terminal.
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(
            ["sh", "-c", "echo via-dev-tty > /dev/tty && ps -o tty= -p $$ | cut -c1-4"], tty: true))
        XCTAssertTrue(result.stdoutText.contains("via-dev-tty\r\n"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("pts/"), result.stdoutText)
        XCTAssertEqual(result.status, .success)
    }

    func testStderrIsMergedIntoTheTerminal() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "echo err >&2; exit 2"], stderr: true, tty: true))
        XCTAssertEqual(result.stdoutText, "err\r\n")
        XCTAssertEqual(result.stderr, [])
        XCTAssertEqual(result.status, .exited(2))
    }

    func testFirstResizeReachesTheProcessBeforeItStarts() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["stty", "size"], stdin: true, tty: true), on: harness.loop, delegate: recorder)
        // The bridge forwards the client's first resize right after starting the session.
        session.receive(.resize(TerminalSize(width: 120, height: 40)))
        harness.run(until: { recorder.status != nil })
        XCTAssertEqual(recorder.stdoutText, "40 120\r\n")
        XCTAssertEqual(recorder.status, .success)
    }

    func testResizeWhileRunning() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["sh", "-c", "stty -echo; echo ready; read line; stty size"], stdin: true, tty: true),
            on: harness.loop, delegate: recorder)
        harness.run(until: { recorder.stdoutText.contains("ready") })
        session.receive(.resize(TerminalSize(width: 132, height: 50)))
        session.receive(.resize(TerminalSize(width: 0, height: 10))) // below 1: ignored
        Array("go\n".utf8).withUnsafeBytes { session.receive(.data(.stdin, $0)) }
        harness.run(until: { recorder.status != nil })
        XCTAssertEqual(recorder.stdoutText, "ready\r\n50 132\r\n")
    }

    func testHalfCloseTypesEndOfFile() {
        let harness = LocalBackendHarness()
        let recorder = LocalBackendRecorder()
        let session = LocalBackend(inventory: nil).startProcessSession(
            LocalBackendHarness.request(["sh", "-c", "stty -echo; echo ready; wc -c"], stdin: true, tty: true),
            on: harness.loop, delegate: recorder)
        harness.run(until: { recorder.stdoutText.contains("ready") })
        // An unfinished last line: the first ^D hands it over, the second is the end of file.
        Array("hello\nworld".utf8).withUnsafeBytes { session.receive(.data(.stdin, $0)) }
        session.receive(.halfClose(.stdin))
        harness.run(until: { recorder.status != nil })
        XCTAssertEqual(recorder.stdoutText, "ready\r\n11\r\n")
        XCTAssertEqual(recorder.status, .success)
    }

    func testEnvironmentHasTerm() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["env"], tty: true))
        let lines = result.stdoutText.split(separator: "\r\n").map(String.init)
        XCTAssertTrue(lines.contains("TERM=xterm"), "\(lines)")
    }
}
