@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// `attach` end to end over loopback: main processes from the inventory, several attachers on
/// different generations and loops, the ring, input, resize, detach, exit, restart.
final class AttachTests: XCTestCase {
    /// Prints a line, then echoes every input line; `quit` ends it with exit code 7.
    static let echoInventory = """
        pods:
          - namespace: default
            name: web
            containers:
              - name: app
                command: [sh, -c, 'echo ready; while read l; do echo "got:$l"; [ "$l" = quit ] && exit 7; done; echo stdin-ended']
                stdin: true
                restartPolicy: Never
              - name: plain
        """

    func testSeveralAttachersSeeTheOutputAndEachOnesInputReachesTheProcess() throws {
        let harness = try attachGateway(Self.echoInventory, threads: 2)
        let clients = AttachClients(port: harness.port)
        let a = clients.open(.spdy, "/attach/default/web/app?stdin=1&stdout=1&stderr=1")
        let b = clients.open(.ws([.v5]), "/api/v1/namespaces/default/pods/web/attach?container=app&stdin=true&stdout=true")
        let c = clients.open(.h2Prior, "/proxy/nodes/n1/attach/default/web/app?stdout=1")
        // Late attachers all see the first line from the ring, though it was printed before they came.
        XCTAssertTrue(clients.pump { [a, b, c].allSatisfy { $0.stdoutText.contains("ready\n") } },
                      "ring: \([a, b, c].map(\.stdoutText))")
        a.type("from-a\n")
        b.type("from-b\n")
        XCTAssertTrue(clients.pump { [a, b, c].allSatisfy { $0.stdoutText.contains("got:from-a\n") && $0.stdoutText.contains("got:from-b\n") } },
                      "\([a, b, c].map(\.stdoutText))")
        // Detaching (the client vanishes) leaves the process and the other attachers running.
        a.kill()
        b.type("after-a\n")
        XCTAssertTrue(clients.pump { [b, c].allSatisfy { $0.stdoutText.contains("got:after-a\n") } })
        XCTAssertNil(b.status)
        XCTAssertNil(c.status)
        // The process's exit reaches every attacher as its exit Status.
        b.type("quit\n")
        XCTAssertTrue(clients.pump { b.status != nil && c.status != nil })
        XCTAssertEqual(b.status?.exitCode, 7)
        XCTAssertEqual(c.status?.exitCode, 7)
        // restartPolicy Never: it stays ended; a new attach is told so.
        let late = clients.open(.spdy, "/attach/default/web/app?stdout=1")
        XCTAssertTrue(clients.pump { late.status != nil })
        XCTAssertNil(late.status?.exitCode)
        XCTAssertTrue(late.status?.message.contains("container app is not running") ?? false, "\(String(describing: late.status))")
    }

    func testRestartPolicyAlwaysStartsTheProcessAgain() throws {
        let harness = try attachGateway("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    command: [sh, -c, 'echo "run $$"; read l; exit 3']
                    stdin: true
                    restartPolicy: Always
            """, threads: 1)
        let clients = AttachClients(port: harness.port)
        let first = clients.open(.ws([.v4]), "/attach/default/web/app?stdin=1&stdout=1")
        XCTAssertTrue(clients.pump { first.stdoutText.contains("run ") })
        first.type("bye\n")
        XCTAssertTrue(clients.pump { first.status != nil })
        XCTAssertEqual(first.status?.exitCode, 3)
        // After the back-off the process runs again (another pid); attaching while it is down is refused.
        var second: AttachClient?
        let restarted = clients.pump(timeout: 20) {
            if let attempt = second, attempt.status != nil { second = nil }
            if second == nil { second = clients.open(.spdy, "/attach/default/web/app?stdout=1") }
            return second!.stdoutText.hasPrefix("run ") && second!.stdoutText != first.stdoutText
        }
        XCTAssertTrue(restarted, "\(String(describing: second?.stdoutText)) \(String(describing: second?.status))")
    }

    func testTheLastResizeWinsOnATerminal() throws {
        let harness = try attachGateway("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    command: [sh, -c, 'stty -echo; echo ready; while read l; do echo "size $(stty size)"; done']
                    stdin: true
                    tty: true
            """)
        let clients = AttachClients(port: harness.port)
        let a = clients.open(.spdy, "/attach/default/web/app?stdin=1&stdout=1&tty=1")
        let b = clients.open(.ws([.v5]), "/attach/default/web/app?stdin=1&stdout=1&tty=1")
        XCTAssertTrue(clients.pump { [a, b].allSatisfy { $0.stdoutText.contains("ready") } })
        a.resize(width: 100, height: 30)
        XCTAssertTrue(clients.pump { a.isReady })
        clients.pump(timeout: 0.3) { false }
        b.resize(width: 120, height: 40)
        clients.pump(timeout: 0.3) { false }
        a.type("\n")
        XCTAssertTrue(clients.pump { [a, b].allSatisfy { $0.stdoutText.contains("size 40 120") } },
                      "\([a, b].map(\.stdoutText))")
    }

    func testStdinOnceClosesTheProcessInputAndTheAttacherStaysForTheExit() throws {
        let harness = try attachGateway("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    command: [sh, -c, 'echo ready; cat; echo input-over; exit 4']
                    stdin: true
                    stdinOnce: true
                    restartPolicy: Never
            """)
        let clients = AttachClients(port: harness.port)
        let a = clients.open(.h2Prior, "/attach/default/web/app?stdin=1&stdout=1")
        XCTAssertTrue(clients.pump { a.stdoutText.contains("ready") })
        a.type("last words\n")
        a.closeStdin()
        XCTAssertTrue(clients.pump { a.status != nil })
        XCTAssertEqual(a.stdoutText, "ready\nlast words\ninput-over\n")
        XCTAssertEqual(a.status?.exitCode, 4)
    }

    func testWithoutStdinOnceTheEndOfInputDetachesOnlyThatAttacher() throws {
        let harness = try attachGateway(Self.echoInventory)
        let clients = AttachClients(port: harness.port)
        let a = clients.open(.spdy, "/attach/default/web/app?stdin=1&stdout=1")
        let b = clients.open(.spdy, "/attach/default/web/app?stdin=1&stdout=1")
        XCTAssertTrue(clients.pump { [a, b].allSatisfy { $0.stdoutText.contains("ready") } })
        a.type("one\n")
        a.closeStdin()
        XCTAssertTrue(clients.pump { a.status != nil })
        XCTAssertEqual(a.status, .success)
        b.type("two\n")
        XCTAssertTrue(clients.pump { b.stdoutText.contains("got:two\n") }, b.stdoutText)
        XCTAssertFalse(b.stdoutText.contains("stdin-ended"))
        XCTAssertNil(b.status)
    }

    func testInputToAContainerWithoutStdinIsIgnoredAsKubeletDoes() throws {
        let harness = try attachGateway("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    command: [sh, -c, 'echo ready; while read l; do echo "got:$l"; done; echo "no input"; sleep 60']
            """)
        let clients = AttachClients(port: harness.port)
        let a = clients.open(.spdy, "/attach/default/web/app?stdin=1&stdout=1")
        XCTAssertTrue(clients.pump { a.stdoutText.contains("no input") }, a.stdoutText)
        a.type("ignored\n")
        a.closeStdin()
        clients.pump(timeout: 0.5) { false }
        XCTAssertFalse(a.stdoutText.contains("got:"))
        XCTAssertNil(a.status)
    }

    func testAttachToAContainerWithoutAMainProcessIsABadRequest() throws {
        let harness = try attachGateway(Self.echoInventory)
        for path in ["/attach/default/web/plain?stdout=1", "/api/v1/namespaces/default/pods/web/attach?container=plain&stdout=1"] {
            let socket = try RawSocket(port: harness.port)
            socket.send("POST \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                        + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
            let response = socket.readResponse()
            XCTAssertEqual(response?.status, 400, path)
            XCTAssertTrue(response?.body.contains("container plain has no main process to attach to") ?? false,
                          "\(String(describing: response?.body))")
        }
        let missing = try RawSocket(port: harness.port)
        missing.send("POST /attach/default/web/nope?stdout=1 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                     + "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(missing.readResponse()?.status, 404)
    }

    func testASlowAttacherIsDetachedWhileTheOthersGetEveryByte() throws {
        // 3 MiB after the first input line; a paused attacher cannot hold that much.
        let harness = try attachGateway("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    command: [sh, -c, 'echo ready; read l; head -c 3145728 /dev/zero | tr "\\0" x; echo; echo done; sleep 60']
                    stdin: true
            """)
        let clients = AttachClients(port: harness.port)
        let fast = clients.open(.spdy, "/attach/default/web/app?stdin=1&stdout=1")
        let slow = clients.open(.spdy, "/attach/default/web/app?stdout=1")
        XCTAssertTrue(clients.pump { [fast, slow].allSatisfy { $0.stdoutText.contains("ready") } })
        slow.pauseReading(true)
        fast.type("go\n")
        XCTAssertTrue(clients.pump(timeout: 30) { fast.stdoutText.hasSuffix("done\n") })
        XCTAssertEqual(fast.stdout.filter { $0 == UInt8(ascii: "x") }.count, 3 << 20)
        slow.pauseReading(false)
        XCTAssertTrue(clients.pump { slow.status != nil })
        XCTAssertTrue(slow.status?.message.contains("fell more than") ?? false, "\(String(describing: slow.status))")
        XCTAssertNil(fast.status)
    }

    func testMainProcessesStopWithTheGatewayAndNotBefore() throws {
        let marker = "attach-stop-\(getpid())"
        var harness: GatewayHarness? = try attachGateway("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    command: [sh, -c, 'echo up; while :; do sleep 1; done', \(marker)]
            """)
        let clients = AttachClients(port: harness!.port)
        let a = clients.open(.spdy, "/attach/default/web/app?stdout=1")
        XCTAssertTrue(clients.pump { a.stdoutText.contains("up\n") })
        a.kill()
        clients.pump(timeout: 0.3) { false }
        XCTAssertFalse(processes(containing: marker).isEmpty, "detaching must not stop the main process")
        harness = nil
        let deadline = EventLoop.now() + 15
        while !processes(containing: marker).isEmpty && EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(processes(containing: marker), [])
    }
}
