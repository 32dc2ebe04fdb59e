@testable import ExecBridge
import Foundation
import Glibc
import Reactor
import Synchronization
import XCTest

/// `execbridge port-forward` as a user runs it: bytes through the forwarded local port with a
/// checksum, a refused port's error on stderr with the listener still serving, SIGTERM exits 0.
final class PortForwardCLITests: XCTestCase {
    /// Against a kubelet-shaped SPDY server (the protocol as client-go speaks it).
    func testForwardsBytesReportsRefusalsAndKeepsServingOverSPDY() throws {
        try forwardThroughFakeServer(protocol: "spdy", webSocket: false)
    }

    func testForwardsOverTheWebSocketTunnel() throws {
        try forwardThroughFakeServer(protocol: "ws-tunnel", webSocket: true)
    }

    /// One HTTP/2 connection for every tunnel (pfwire §4), by prior knowledge.
    func testForwardsOverHTTP2() throws {
        try forwardThroughFakeServer(protocol: "h2", webSocket: false)
    }

    private func forwardThroughFakeServer(protocol wire: String, webSocket: Bool) throws {
        let serverPort = LockedBox<UInt16>(0)
        let thread = try LoopThread { loop in
            if wire == "h2" {
                let server = try FakeHTTP2PortForwardServer(loop: loop, allowedPorts: [8080])
                serverPort.update { $0 = server.port }
                return server
            }
            let server = try FakeSPDYPortForwardServer(loop: loop, allowedPorts: [8080], webSocket: webSocket)
            serverPort.update { $0 = server.port }
            return server
        }
        let url = "http://127.0.0.1:\(serverPort.value)/api/v1/namespaces/ns/pods/pod/portforward"
        let cli = try PortForwardProcess(["--protocol", wire, url, ":8080", ":9999"], expecting: [8080, 9999])
        let data = patternBytes(200_000, seed: 3)
        let echoed = try exchange(throughLocalPort: cli.localPorts[8080]!, data)
        XCTAssertEqual(echoed.count, data.count)
        XCTAssertEqual(fnv1a(echoed), fnv1a(data))

        let refusedLocal = cli.localPorts[9999]!
        XCTAssertEqual(try exchange(throughLocalPort: refusedLocal, Array("GET / HTTP/1.0\r\n\r\n".utf8)), [])
        XCTAssertTrue(cli.waitForStderr(containing: "an error occurred forwarding \(refusedLocal) -> 9999: error forwarding port 9999 to pod ns/pod"),
                      cli.stderrText)

        // The listener survived the refusal.
        XCTAssertEqual(try exchange(throughLocalPort: cli.localPorts[8080]!, Array("again".utf8)), Array("again".utf8), cli.stderrText)
        XCTAssertTrue(cli.stdoutText.contains("Forwarding from 127.0.0.1:\(cli.localPorts[8080]!) -> 8080"))
        XCTAssertEqual(cli.stop(), 0)
        withExtendedLifetime(thread) {}
    }

    func testUsageErrorsExit64WithThePortForwardHelp() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServeProcess.binary.path), "execbridge not built")
        for arguments in [["--protocol", "foo", "http://127.0.0.1:1/portForward/a/b", "80"],
                          ["http://127.0.0.1:1/portForward/a/b"],
                          ["http://127.0.0.1:1/portForward/a/b", "80:70000"],
                          ["http://127.0.0.1:1/exec/a/b/c", "80"],
                          ["--cert", "/x", "https://127.0.0.1:1/portForward/a/b", "80"]] {
            let process = Process()
            process.executableURL = ServeProcess.binary
            process.arguments = ["port-forward"] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 64, "\(arguments): \(text)")
            XCTAssertTrue(text.contains("'execbridge port-forward --help'"), text)
        }
    }

    func testAnUnreachableServerFailsBeforeListening() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServeProcess.binary.path), "execbridge not built")
        let process = Process()
        process.executableURL = ServeProcess.binary
        process.arguments = ["port-forward", "http://127.0.0.1:\(closedPort())/portForward/ns/pod", ":80"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(text.hasPrefix("execbridge: error upgrading connection: "), text)
    }
}
