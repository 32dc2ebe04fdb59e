import ExecBridge
import ExecModel
import Glibc
import XCTest

/// The local backend with an inventory: targets, directory, environment, user.
final class LocalBackendInventoryTests: XCTestCase {
    private func backend(_ containers: [ContainerSpec], node: String? = nil) -> LocalBackend {
        LocalBackend(inventory: Inventory(pods: [
            PodSpec(node: node, namespace: "default", name: "web", containers: containers),
        ]))
    }

    private func target(_ container: String?, pod: String = "web", namespace: String = "default",
                        node: String? = nil) -> ExecTarget {
        ExecTarget(node: node, namespace: namespace, pod: pod, container: container)
    }

    func testCheckAnswersUnknownTargetsWith404() {
        let local = backend([ContainerSpec(name: "app"), ContainerSpec(name: "debug")], node: "node1")
        func check(_ target: ExecTarget) -> RequestError? {
            local.check(LocalBackendHarness.request(["true"], target: target))
        }
        XCTAssertNil(check(target("app")))
        XCTAssertNil(check(target("debug", node: "node1")))
        XCTAssertEqual(check(target("app", node: "node2")), .notFound("pods \"web\" not found"))
        XCTAssertEqual(check(target("app", pod: "db")), .notFound("pods \"db\" not found"))
        XCTAssertEqual(check(target("nope")), .notFound("containers \"nope\" not found"))
        XCTAssertEqual(check(target("app", namespace: "prod")), .notFound("namespaces \"prod\" not found"))
        XCTAssertEqual(check(target(nil)),
                       .badRequest("a container name must be specified for pod web, choose one of: [app debug]"))
        XCTAssertEqual(check(target("nope"))?.statusJSON,
                       #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"containers \"nope\" not found","reason":"NotFound","code":404}"#)
    }

    func testWithoutInventoryAnyTargetIsAccepted() {
        let local = LocalBackend(inventory: nil)
        XCTAssertNil(local.check(LocalBackendHarness.request(["true"], target: target("anything", pod: "any", namespace: "ns"))))
        XCTAssertEqual(local.check(LocalBackendHarness.request([], kind: .attach))?.code, 400)
    }

    func testSessionForAnUnknownTargetEndsWith404Status() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["true"], target: target("nope")),
                                       backend: backend([ContainerSpec(name: "app")]))
        XCTAssertEqual(result.status, .failure(message: "containers \"nope\" not found", reason: "NotFound", code: 404))
    }

    func testWorkingDirectoryAndEnvironment() {
        let local = backend([ContainerSpec(name: "app", workingDir: "/tmp", env: ["GREETING": "hello world", "PATH": "/usr/bin:/bin"])])
        let harness = LocalBackendHarness()
        let pwd = harness.runToExit(LocalBackendHarness.request(["pwd"], target: target("app")), backend: local)
        XCTAssertEqual(pwd.stdoutText, "/tmp\n")
        let env = harness.runToExit(LocalBackendHarness.request(["env"], target: target("app")), backend: local)
        let home = String(cString: getpwuid(geteuid()).pointee.pw_dir)
        XCTAssertEqual(env.stdoutText.split(separator: "\n").map(String.init),
                       ["GREETING=hello world", "HOME=\(home)", "PATH=/usr/bin:/bin"])
    }

    func testSingleContainerIsPickedWhenOmitted() {
        let local = backend([ContainerSpec(name: "app", env: ["WHO": "app"])])
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["sh", "-c", "echo $WHO"], target: target(nil)), backend: local)
        XCTAssertEqual(result.stdoutText, "app\n")
    }

    func testDefaultEnvironmentIsMinimal() {
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["env"]))
        let names = result.stdoutText.split(separator: "\n").map { String($0.prefix { $0 != "=" }) }
        XCTAssertEqual(names, ["HOME", "PATH"])
        XCTAssertTrue(result.stdoutText.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"))
    }

    func testMissingWorkingDirectory() {
        let local = backend([ContainerSpec(name: "app", workingDir: "/no/such/dir")])
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["pwd"], target: target("app")), backend: local)
        XCTAssertEqual(result.status, .internalError("chdir to working directory \"/no/such/dir\": no such file or directory"))
    }

    func testUnknownUser() {
        let local = backend([ContainerSpec(name: "app", user: "no-such-user-for-local-backend")])
        let harness = LocalBackendHarness()
        let result = harness.runToExit(LocalBackendHarness.request(["id"], target: target("app")), backend: local)
        XCTAssertEqual(result.status, .internalError(
            "unable to find user no-such-user-for-local-backend: no matching entries in passwd file"))
    }

    func testRunsAsTheInventoryUser() throws {
        try XCTSkipUnless(geteuid() == 0, "switching users needs root")
        let nobody = try XCTUnwrap(getpwnam("nobody")?.pointee)
        let local = backend([ContainerSpec(name: "app", workingDir: "/tmp", user: "nobody")])
        let harness = LocalBackendHarness()
        let ids = harness.runToExit(
            LocalBackendHarness.request(["sh", "-c", "id -u; id -g; pwd; echo $HOME"], target: target("app")), backend: local)
        XCTAssertEqual(ids.stdoutText, "\(nobody.pw_uid)\n\(nobody.pw_gid)\n/tmp\n\(String(cString: nobody.pw_dir))\n")
        XCTAssertEqual(ids.status, .success)

        // With a terminal (the slave is handed to the user) and a numeric uid:gid.
        let numeric = backend([ContainerSpec(name: "app", user: "12345:54321")])
        let tty = harness.runToExit(
            LocalBackendHarness.request(["sh", "-c", "id -u; id -G; tty; echo ok > /dev/tty"], stdin: true,
                                        tty: true, target: target("app")), backend: numeric)
        XCTAssertEqual(tty.status, .success)
        XCTAssertTrue(tty.stdoutText.hasPrefix("12345\r\n54321\r\n/dev/pts/"), tty.stdoutText)
        XCTAssertTrue(tty.stdoutText.hasSuffix("ok\r\n"), tty.stdoutText)

        // Exec failures travel back from the forked child.
        let missing = harness.runToExit(LocalBackendHarness.request(["/no/such/tool"], target: target("app")), backend: local)
        XCTAssertEqual(missing.status, .internalError("exec: \"/no/such/tool\": no such file or directory"))
        let noEntry = backend([ContainerSpec(name: "app", user: "12345")])
        let refused = harness.runToExit(LocalBackendHarness.request(["id"], target: target("app")), backend: noEntry)
        XCTAssertEqual(refused.status, .internalError("user 12345 has no passwd entry: give its group as \"12345:GID\""))
    }

    func testUserSwitchLeavesNoDescriptorOrChildBehind() throws {
        try XCTSkipUnless(geteuid() == 0, "switching users needs root")
        let local = backend([ContainerSpec(name: "app", user: "nobody")])
        let harness = LocalBackendHarness()
        _ = harness.runToExit(LocalBackendHarness.request(["true"], target: target("app")), backend: local)
        let before = LocalBackendProcFS.openDescriptorCount()
        let fds = harness.runToExit(LocalBackendHarness.request(["ls", "/proc/self/fd"], stdin: true, target: target("app")),
                                    backend: local)
        XCTAssertEqual(fds.stdoutText, "0\n1\n2\n3\n")
        XCTAssertTrue(LocalBackendProcFS.isReaped(try XCTUnwrap(fds.pid)))
        _ = harness.runToExit(LocalBackendHarness.request(["/no/such/tool"], tty: true, target: target("app")), backend: local)
        XCTAssertLessThanOrEqual(LocalBackendProcFS.descriptorCount(fallingTo: before), before)
    }
}
