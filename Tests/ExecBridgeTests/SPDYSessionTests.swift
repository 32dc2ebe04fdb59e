@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// The legacy generation end to end: the in-repo SPDY client, the gateway, the local backend.
final class SPDYSessionTests: XCTestCase {
    private var harness: GatewayHarness!
    private var cases: SessionCases!

    override func setUpWithError() throws {
        harness = try GatewayHarness()
        cases = SessionCases(.spdy, harness: harness)
    }

    override func tearDown() {
        cases = nil
        harness = nil
    }

    func testEcho() { cases.echo() }
    func testExitCodesAreKept() { cases.exitCodes() }
    func testStderrIsSeparate() { cases.stderrSeparate() }
    func testStdinHalfCloseThroughCat10MiB() { cases.stdinHalfClose() }
    func testTTYResize() { cases.ttyResize() }
    func testInputBeforeStreamsExist() { cases.earlyInput() }
    func testEveryVersion() { cases.versions() }
    func testCommandNotFound() { cases.notFoundCommand() }
    func testClientKilledLeavesNoProcess() { cases.clientKilledLeavesNoProcess() }
    func testSlowReaderStaysWithinBudget() { cases.slowReaderStaysWithinBudget() }

    func testStreamCreationTimeout() throws {
        harness = try GatewayHarness { $0.bridge.streamCreationTimeout = 0.5 }
        SessionCases(.spdy, harness: harness).streamCreationTimeout()
    }

    func testIdleSessionIsEndedWithATimeoutStatusAndNoProcessLeft() throws {
        harness = try GatewayHarness { $0.bridge.idleTimeout = 0.4 }
        let marker = "\(Int.random(in: 100_000...999_999))"
        let r = SessionCases(.spdy, harness: harness).run(["sleep", marker], timeout: 10)
        guard case .failure(_, let reason, _)? = r.status else {
            return XCTFail("expected a Timeout failure, got \(String(describing: r.status))")
        }
        XCTAssertEqual(reason, "Timeout")
        let deadline = EventLoop.now() + 10
        while !processes(containing: "sleep \(marker)").isEmpty && EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(processes(containing: "sleep \(marker)"), [])
    }

    func testLegacyClientWithoutVersionHeaderGetsV1() {
        let r = cases.run(["sh", "-c", "echo legacy; exit 4"], versions: [], form: "/proxy/minions/n1/exec/default/web/app")
        XCTAssertEqual(r.stdoutText, "legacy\n")
        XCTAssertEqual(r.exitCode, 4)
    }

    func testEveryPathFormWorks() {
        let forms = ["/proxy/minions/n1/exec/default/web/app", "/proxy/nodes/n1/exec/default/web/app",
                     "/api/v1/nodes/n1/proxy/exec/default/web/app", "/exec/default/web/app",
                     "/api/v1beta1/proxy/minions/n1/exec/default/web/app"]
        for form in forms {
            let r = cases.run(["echo", form], form: form)
            XCTAssertEqual(r.stdoutText, form + "\n", form)
        }
        let api = ExecRun().run(.spdy, port: harness.port,
                                path: "/api/v1/namespaces/default/pods/web/exec?container=app&command=echo&command=api&stdout=true")
        XCTAssertEqual(api.stdoutText, "api\n")
    }

    func testUnknownVersionIs403WithAcceptedVersions() throws {
        let socket = try RawSocket(port: harness.port)
        socket.send("POST \(SessionCases.path(["date"])) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    + "X-Stream-Protocol-Version: v9.channel.k8s.io\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 403)
        XCTAssertTrue(response.head.contains("X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io"), response.head)
        XCTAssertTrue(response.body.contains("unable to negotiate protocol"), response.body)
    }

    func testUpgradeAnswerNamesTheChosenVersion() throws {
        let socket = try RawSocket(port: harness.port)
        socket.send("POST \(SessionCases.path(["date"])) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    + "X-Stream-Protocol-Version: v5.channel.k8s.io\r\nX-Stream-Protocol-Version: v4.channel.k8s.io, v3.channel.k8s.io\r\n\r\n")
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.reversed().starts(with: Array("\n\r\n\r".utf8)), recv(socket.fd, &byte, 1, 0) == 1 { head.append(byte) }
        let text = String(decoding: head, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), text)
        XCTAssertTrue(text.contains("Upgrade: SPDY/3.1\r\n"), text)
        XCTAssertTrue(text.contains("X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"), text)
    }
}
