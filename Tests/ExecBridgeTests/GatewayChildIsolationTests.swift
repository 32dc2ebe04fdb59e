@testable import ExecBridge
import ExecModel
import Foundation
import Glibc
import XCTest

/// The built gateway as an operator runs it (issue 12): a child never reaches the terminal the
/// gateway was started from, and a SIGKILLed gateway leaves no child behind.
final class GatewayChildIsolationTests: XCTestCase {
    private var tags: [String] = []

    override func tearDown() {
        ProcessTags.cleanUp(tags)
    }

    private func tag() -> String {
        let tag = ProcessTags.unique()
        tags.append(tag)
        return tag
    }

    func testNonTTYChildCannotOpenTheGatewaysTerminal() throws {
        let serve = try ServeProcess(["serve", "--listen", "127.0.0.1:0"], onTerminal: true)
        // Field 7 of the parent's (the gateway's) stat is its controlling terminal: not 0 here.
        let script = #"read -r pid comm state ppid pgrp sid tty rest < /proc/$PPID/stat; echo "gateway-tty=$tty"; "#
            + #"if true 3</dev/tty; then echo opened; else echo refused; fi"#
        let run = ExecRun().run(.spdy, port: serve.port, path: SessionCases.path(["sh", "-c", script]))
        let lines = run.stdoutText.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, run.stdoutText + run.stderrText)
        XCTAssertNotEqual(lines.first, "gateway-tty=0", "the gateway must run on a terminal for this test")
        XCTAssertEqual(lines.last, "refused")
        XCTAssertTrue(run.stderrText.contains("No such device or address"), run.stderrText)
    }

    private func killGatewayDuringSession(_ command: [String], tag: String, tty: Bool) throws {
        let serve = try ServeProcess(["serve", "--listen", "127.0.0.1:0"])
        var killed = false
        let run = ExecRun()
        run.onTick = { _ in
            if !killed && !ProcessTags.pids(tag).isEmpty {
                killed = true
                kill(serve.pid, SIGKILL)
            }
        }
        run.run(.spdy, port: serve.port, path: SessionCases.path(command, tty ? "output=1&tty=1" : "output=1&error=1"),
                tty: tty, timeout: 20)
        XCTAssertTrue(killed, "the session's process never appeared")
        serve.process.waitUntilExit()
        XCTAssertTrue(ProcessTags.waitUntilGone(tag), "left behind: \(ProcessTags.pids(tag))")
    }

    func testSIGKILLedGatewayTakesItsChildAlong() throws {
        let tag = tag()
        try killGatewayDuringSession(["sleep", tag], tag: tag, tty: false)
    }

    func testSIGKILLedGatewayEndsATerminalSession() throws {
        // The shell dies with the gateway (parent-death signal); as the terminal's controlling
        // process its death hangs up the foreground job.
        let tag = tag()
        try killGatewayDuringSession(["sh", "-c", "sleep \(tag); true"], tag: tag, tty: true)
    }
}
