import ExecBridge
import ExecModel
import Glibc
import XCTest

/// A command that cannot start ends with an InternalError Failure Status (as containerd/runc
/// report it), never with an invented exit code; 127/126 come only from a shell inside.
final class LocalBackendFailureTests: XCTestCase {
    private var scratchFiles: [String] = []

    override func tearDown() {
        for path in scratchFiles { unlink(path) }
        super.tearDown()
    }

    private func makeFile(mode: mode_t, contents: String = "#!/bin/sh\necho ran\n") -> String {
        var template = Array("/tmp/execbridge-local-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = contents.withCString { write(fd, $0, strlen($0)) }
        fchmod(fd, mode)
        close(fd)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        scratchFiles.append(path)
        return path
    }

    func testCommandNotFound() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["no-such-command-for-local-backend", "arg"]))
        XCTAssertEqual(result.status, .failure(
            message: "exec: \"no-such-command-for-local-backend\": executable file not found in $PATH",
            reason: "InternalError", code: 500))
        XCTAssertEqual(result.status?.message,
                       "Internal error occurred: exec: \"no-such-command-for-local-backend\": executable file not found in $PATH")
        // The outputs still end before the status.
        XCTAssertEqual(result.log, ["halfClose:stdout", "halfClose:stderr", "exit"])
    }

    func testMissingPath() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["/no/such/dir/tool"]))
        XCTAssertEqual(result.status, .internalError("exec: \"/no/such/dir/tool\": no such file or directory"))
    }

    func testPermissionDenied() {
        let path = makeFile(mode: 0o644)
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request([path]))
        XCTAssertEqual(result.status, .internalError("exec: \"\(path)\": permission denied"))
        let directory = harness.runToExit(LocalBackendHarness.request(["/tmp"]))
        XCTAssertEqual(directory.status, .internalError("exec: \"/tmp\": permission denied"))
    }

    func testExecutableScriptRuns() {
        let path = makeFile(mode: 0o755)
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request([path]))
        XCTAssertEqual(result.stdoutText, "ran\n")
        XCTAssertEqual(result.status, .success)
    }

    func testShellCodes127And126PassThrough() {
        let path = makeFile(mode: 0o644)
        let harness = LocalBackendHarness()
        let missing = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "no-such-command-for-local-backend"]))
        XCTAssertEqual(missing.status, .exited(127))
        let denied = harness.runToExit(LocalBackendHarness.request(["sh", "-c", path]))
        XCTAssertEqual(denied.status, .exited(126))
    }

    func testEmptyCommand() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request([]))
        XCTAssertEqual(result.status, .internalError("no command given"))
    }

    func testFailureWithTTYEndsTheTerminalOutput() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["no-such-command-for-local-backend"], stdin: true, tty: true))
        XCTAssertEqual(result.log, ["halfClose:stdout", "exit"])
        XCTAssertEqual(result.status?.exitCode, nil)
    }
}
