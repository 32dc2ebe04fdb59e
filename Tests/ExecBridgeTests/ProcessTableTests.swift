@testable import ExecBridge
import Glibc
import XCTest

/// The subtree walk the reaper uses instead of all of /proc: children and grandchildren are in it,
/// processes outside the subtree are not.
final class ProcessTableTests: XCTestCase {
    func testDescendantsHoldChildrenAndGrandchildrenOnly() throws {
        var pid: pid_t = 0
        let argv = ["/bin/sh", "-c", "sleep 30 & wait"]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        XCTAssertEqual(posix_spawn(&pid, "/bin/sh", nil, nil, &cArgs, environ), 0)
        defer {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        // Poll until the shell has started its `sleep` (no fixed wait).
        var grandchild: ProcessEntry?
        let deadline = Date().addingTimeInterval(10)
        while grandchild == nil, Date() < deadline {
            grandchild = ProcessTable.descendants(of: getpid())?.first { $0.ppid == pid }
            if grandchild == nil { usleep(10_000) }
        }
        let tree = try XCTUnwrap(ProcessTable.descendants(of: getpid()))
        XCTAssertTrue(tree.contains { $0.pid == pid && $0.ppid == getpid() }, "the child")
        XCTAssertNotNil(grandchild, "the child's own child")
        XCTAssertFalse(tree.contains { $0.pid == 1 || $0.pid == getpid() }, "neither init nor the root itself")
        let everything = Set(ProcessTable.all().map(\.pid))
        XCTAssertTrue(tree.allSatisfy { everything.contains($0.pid) || !LocalBackendProcFS.processExists($0.pid) })
        if let grandchild { kill(grandchild.pid, SIGKILL) }
    }
}
