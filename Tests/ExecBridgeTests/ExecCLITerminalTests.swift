import CSystem
import ExecModel
@testable import ExecBridge
import Glibc
import XCTest

/// Raw mode for `execbridge exec -t` on a real pty, and that every way out restores it.
final class ExecCLITerminalTests: XCTestCase {
    private var master: Int32 = -1
    private var slave: Int32 = -1

    override func setUpWithError() throws {
        var name = [CChar](repeating: 0, count: 128)
        master = eb_pty_open(&name, name.count)
        try XCTSkipIf(master < 0, "no pty available")
        slave = open(name, O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(slave, 0)
        XCTAssertEqual(eb_pty_set_size(master, 40, 100), 0)
    }

    override func tearDown() {
        if slave >= 0 { close(slave) }
        if master >= 0 { close(master) }
    }

    private func mode() -> termios {
        var t = termios()
        XCTAssertEqual(tcgetattr(slave, &t), 0)
        return t
    }

    private func same(_ a: termios, _ b: termios) -> Bool {
        var a = a, b = b
        return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag
            && withUnsafeBytes(of: &a.c_cc) { x in withUnsafeBytes(of: &b.c_cc) { y in x.elementsEqual(y) } }
    }

    func testRawModeThenRestore() throws {
        let before = mode()
        XCTAssertNotEqual(before.c_lflag & tcflag_t(ECHO | ICANON | ISIG), 0)
        let terminal = try TerminalMode(rawOn: slave)
        let raw = mode()
        XCTAssertEqual(raw.c_lflag & tcflag_t(ECHO | ICANON | ISIG | IEXTEN), 0, "no echo, no line editing, no ^C signals")
        XCTAssertEqual(raw.c_iflag & tcflag_t(ICRNL | IXON), 0)
        XCTAssertEqual(raw.c_oflag & tcflag_t(OPOST), 0)
        terminal.restore()
        XCTAssertTrue(same(mode(), before))
        terminal.restore() // idempotent: a second call changes nothing
        XCTAssertTrue(same(mode(), before))
    }

    func testDroppingTheModeRestores() throws {
        let before = mode()
        do {
            _ = try TerminalMode(rawOn: slave)
        }
        XCTAssertTrue(same(mode(), before))
    }

    /// What the exit and crash-signal handlers call: restores from the saved copy alone.
    func testSignalPathRestore() throws {
        let before = mode()
        let terminal = try TerminalMode(rawOn: slave)
        XCTAssertFalse(same(mode(), before))
        TerminalRestore.restoreNow()
        XCTAssertTrue(same(mode(), before))
        XCTAssertTrue(TerminalRestore.handlersInstalled)
        terminal.restore()
        XCTAssertEqual(TerminalRestore.savedFD, -1, "nothing left to restore at exit")
    }

    func testNotATerminal() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        XCTAssertFalse(TerminalMode.isTerminal(fds[0]))
        XCTAssertThrowsError(try TerminalMode(rawOn: fds[0])) { error in
            XCTAssertTrue("\(error)".hasPrefix("-t: standard input is not a terminal"), "\(error)")
        }
        XCTAssertNil(TerminalMode.size(of: fds[0]))
    }

    func testWindowSize() {
        XCTAssertEqual(TerminalMode.size(of: slave), TerminalSize(width: 100, height: 40))
    }
}
