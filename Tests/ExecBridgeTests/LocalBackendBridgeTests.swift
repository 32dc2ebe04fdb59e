import ExecBridge
import ExecModel
import Logging
import Reactor
import XCTest

/// The local backend behind the real Bridge, with a stand-in frontend.
final class LocalBackendBridgeTests: XCTestCase {
    private final class Frontend: SessionEndpoint {
        var stdout: [UInt8] = []
        var log: [String] = []
        var status: ExecStatus?
        var terminatedWith: EndReason?
        var pendingBytes: Int { 0 }

        func receive(_ event: SessionEvent) {
            switch event {
            case .data(.stdout, let bytes): stdout.append(contentsOf: bytes)
            case .data(let channel, _): log.append("data:\(channel)")
            case .halfClose(let channel): log.append("halfClose:\(channel)")
            case .resize: log.append("resize")
            case .exit(let status):
                log.append("exit")
                self.status = status
            }
        }

        func setReading(_ on: Bool) {}
        func terminate(_ reason: EndReason) { terminatedWith = reason }
    }

    func testTTYSessionThroughTheBridge() {
        let harness = LocalBackendHarness()
        let request = LocalBackendHarness.request(["sh", "-c", "stty size; read line; echo got $line"], stdin: true, tty: true)
        let bridge = Bridge(request: request, loop: harness.loop, config: BridgeConfig(),
                            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let frontend = Frontend()
        bridge.start(frontend: frontend, backend: LocalBackend(inventory: nil))
        // What a client sends first: its terminal size, then a line.
        bridge.endpoint(frontend, emitted: .resize(TerminalSize(width: 100, height: 30)))
        Array("hi\n".utf8).withUnsafeBytes { bridge.endpoint(frontend, emitted: .data(.stdin, $0)) }
        XCTAssertTrue(harness.run(until: { frontend.status != nil }))
        let output = String(decoding: frontend.stdout, as: UTF8.self)
        // The terminal echoes the line typed ahead ("hi"), as a real one does.
        XCTAssertTrue(output.contains("30 100\r\n"), output)
        XCTAssertTrue(output.hasSuffix("got hi\r\n"), output)
        XCTAssertEqual(frontend.log, ["halfClose:stdout", "exit"])
        XCTAssertEqual(frontend.status, .success)
        XCTAssertEqual(bridge.outcome?.reason, .completed)
        XCTAssertEqual(frontend.terminatedWith, .completed)
    }
}
