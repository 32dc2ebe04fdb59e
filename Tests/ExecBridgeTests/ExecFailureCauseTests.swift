@testable import ExecBridge
import Foundation
import Glibc
import Reactor
import XCTest

/// `execbridge exec` names why it could not run the command — the same words on every protocol —
/// and exits 1 for its own failures.
final class ExecFailureCauseTests: XCTestCase {
    private static let protocols = ["spdy", "h2", "h2c-upgrade", "ws"]
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "execbridge-causes-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func exec(_ proto: String, _ url: String, _ extra: [String] = []) throws -> (status: Int32, out: String, err: String) {
        try ExecProcess.run(["--protocol", proto] + extra + [url + "/exec/default/demo/app", "--", "echo", "ran"])
    }

    func testNothingListening() throws {
        let port = closedPort()
        for proto in Self.protocols {
            let result = try exec(proto, "http://127.0.0.1:\(port)")
            XCTAssertEqual(result.status, 1, proto)
            XCTAssertEqual(result.err, "execbridge: cannot connect to 127.0.0.1:\(port): connection refused "
                           + "(nothing listens there: is the gateway running, on this port?)\n", proto)
        }
    }

    func testHTTPSToACleartextPortAndHTTPToATLSPort() throws {
        let cleartext = try ServeProcess(["serve", "--listen", "127.0.0.1:0"])
        let certificate = try TestCertificate.shared()
        let tls = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--tls-cert", certificate.cert, "--tls-key", certificate.key])
        for proto in Self.protocols where proto != "h2c-upgrade" {
            let result = try exec(proto, "https://127.0.0.1:\(cleartext.port)", ["--insecure-skip-tls-verify"])
            XCTAssertEqual(result.status, 1, proto)
            XCTAssertTrue(result.err.hasPrefix("execbridge: TLS handshake with 127.0.0.1:\(cleartext.port) failed: "), result.err)
            XCTAssertTrue(result.err.contains("is it a cleartext port? then use an http:// URL"), result.err)
        }
        for proto in Self.protocols {
            let result = try exec(proto, "http://127.0.0.1:\(tls.port)")
            XCTAssertEqual(result.status, 1, proto)
            XCTAssertEqual(result.err, "execbridge: 127.0.0.1:\(tls.port) serves TLS: use an https:// URL\n", proto)
        }
    }

    func testSelfSignedCertificateWithoutCAOrInsecure() throws {
        let certificate = try TestCertificate.shared()
        let tls = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--tls-cert", certificate.cert, "--tls-key", certificate.key])
        for proto in Self.protocols where proto != "h2c-upgrade" {
            let result = try exec(proto, "https://127.0.0.1:\(tls.port)")
            XCTAssertEqual(result.status, 1, proto)
            XCTAssertTrue(result.err.hasPrefix("execbridge: TLS verification of 127.0.0.1:\(tls.port) failed: self-signed certificate"
                                               + " (give --ca"), "\(proto): \(result.err)")
            // The way out works.
            let insecure = try exec(proto, "https://127.0.0.1:\(tls.port)", ["--insecure-skip-tls-verify"])
            XCTAssertEqual(insecure.status, 0, "\(proto): \(insecure.err)")
            XCTAssertEqual(insecure.out, "ran\n")
        }
    }

    func testRefusedUpgradeShowsTheStatus() throws {
        let tokens = dir + "/tokens.csv", policy = dir + "/policy.yaml"
        try "alice-t0ken,alice,1\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        try "rules:\n  - users: [bob]\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--token-file", tokens, "--policy", policy])
        for proto in Self.protocols {
            let forbidden = try exec(proto, "http://127.0.0.1:\(gateway.port)", ["--token", "alice-t0ken"])
            XCTAssertEqual(forbidden.status, 1, proto)
            XCTAssertEqual(forbidden.err, "execbridge: upgrade refused: 403 Forbidden: pods \"demo\" is forbidden: User \"alice\" "
                           + "cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\"\n", proto)
            let anonymous = try exec(proto, "http://127.0.0.1:\(gateway.port)")
            XCTAssertEqual(anonymous.status, 1, proto)
            XCTAssertEqual(anonymous.err, "execbridge: upgrade refused: 401 Unauthorized: Unauthorized\n", proto)
        }
    }

    /// A web server (Python's http.server) answers the upgrade with an error page, not a Status.
    func testAWebServerIsNotAnExecServer() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3 missing")
        let port = closedPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", dir]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let deadline = Date().addingTimeInterval(10)
        while ConnectProbe.run(try SocketAddress(host: "127.0.0.1", port: port), tls: nil, serverName: nil, timeout: 1) != .reachable,
              Date() < deadline { usleep(50_000) }
        for proto in Self.protocols {
            let result = try exec(proto, "http://127.0.0.1:\(port)")
            XCTAssertEqual(result.status, 1, proto)
            XCTAssertTrue(result.err.hasPrefix("execbridge: 127.0.0.1:\(port) is not an exec server"), "\(proto): \(result.err)")
            XCTAssertFalse(result.err.contains("<html"), result.err)
        }
    }

    /// A server that takes the connection and never answers: `--connect-timeout` ends the wait.
    func testASilentServerTimesOut() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                _ = listen(fd, 16)  // never accepted: the kernel completes the handshakes, nobody answers
                _ = getsockname(fd, pointer, &length)
            }
        }
        let port = UInt16(bigEndian: address.sin_port)
        for proto in Self.protocols {
            let result = try exec(proto, "http://127.0.0.1:\(port)", ["--connect-timeout", "0.5"])
            XCTAssertEqual(result.status, 1, proto)
            XCTAssertEqual(result.err, "execbridge: 127.0.0.1:\(port) accepted the connection but did not start the session: "
                           + "timed out, no session within 0.5 s (--connect-timeout)\n", proto)
        }
    }

    func testTheRemoteExitCodeIsPassedThrough() throws {
        let gateway = try ServeProcess(["serve", "--listen", "127.0.0.1:0"])
        for proto in Self.protocols {
            let result = try ExecProcess.run(["--protocol", proto, "http://127.0.0.1:\(gateway.port)/exec/default/demo/app",
                                              "--", "sh", "-c", "exit 42"])
            XCTAssertEqual(result.status, 42, "\(proto): \(result.err)")
            XCTAssertEqual(result.err, "", proto)
        }
    }

    func testEveryCauseIsWorded() {
        let detail = "connection closed"
        XCTAssertTrue(ConnectFailure.describe(.timedOut, authority: "h:1", secure: false, clientDetail: detail)
            .hasPrefix("cannot connect to h:1: timed out"))
        XCTAssertEqual(ConnectFailure.describe(.unreachable(ENETUNREACH), authority: "h:1", secure: false, clientDetail: detail),
                       "cannot connect to h:1: network is unreachable")
        XCTAssertTrue(ConnectFailure.describe(.reachable, authority: "h:1", secure: true, clientDetail: detail)
            .hasPrefix("h:1 is not an exec server"))
        XCTAssertFalse(ConnectFailure.isStatusMessage("<!DOCTYPE HTML>\n<html>"))
        XCTAssertTrue(ConnectFailure.isStatusMessage("pods \"x\" not found"))
    }
}
