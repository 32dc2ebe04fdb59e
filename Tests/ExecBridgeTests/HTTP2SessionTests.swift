@testable import ExecBridge
import ExecModel
import Reactor
import XCTest

/// The current generation by prior knowledge: the in-repo HTTP/2 client, the gateway, the local backend.
final class HTTP2PriorKnowledgeSessionTests: XCTestCase {
    private var harness: GatewayHarness!
    private var cases: SessionCases!

    override func setUpWithError() throws {
        harness = try GatewayHarness()
        cases = SessionCases(.h2Prior, harness: harness)
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
        SessionCases(.h2Prior, harness: harness).streamCreationTimeout()
    }
}

/// The current generation by the h2c upgrade of an HTTP/1.1 exec request (the doc's flow).
final class HTTP2UpgradeSessionTests: XCTestCase {
    private var harness: GatewayHarness!
    private var cases: SessionCases!

    override func setUpWithError() throws {
        harness = try GatewayHarness()
        cases = SessionCases(.h2Upgrade, harness: harness)
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
    func testClientKilledLeavesNoProcess() { cases.clientKilledLeavesNoProcess() }

    func testUnknownVersionIs403BeforeTheUpgrade() throws {
        let socket = try RawSocket(port: harness.port)
        socket.send("POST \(SessionCases.path(["date"])) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nX-Stream-Protocol-Version: v9.channel.k8s.io\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 403)
        XCTAssertTrue(response.body.contains("unable to negotiate protocol"), response.body)
    }
}

/// The current generation over TLS with ALPN h2.
final class HTTP2TLSSessionTests: XCTestCase {
    private var harness: GatewayHarness!
    private var cases: SessionCases!

    override func setUpWithError() throws {
        let files = try TestCertificate.shared()
        let serverTLS = try TLSContext(certificate: files.cert, key: files.key)
        harness = try GatewayHarness { $0.tls = serverTLS }
        let clientTLS = try TLSContext(clientCA: files.cert, alpn: ["h2"])
        cases = SessionCases(.h2TLS, harness: harness, tls: clientTLS)
    }

    override func tearDown() {
        cases = nil
        harness = nil
    }

    func testEcho() { cases.echo() }
    func testExitCodesAreKept() { cases.exitCodes() }
    func testStdinHalfCloseThroughCat10MiB() { cases.stdinHalfClose() }
    func testTTYResize() { cases.ttyResize() }
    func testInputBeforeStreamsExist() { cases.earlyInput() }
    func testClientKilledLeavesNoProcess() { cases.clientKilledLeavesNoProcess() }
}
