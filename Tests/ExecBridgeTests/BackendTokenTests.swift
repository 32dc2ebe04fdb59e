@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// The upstream's bearer token stays out of the command line (issue 12): `--backend-token` warns
/// and is blanked in /proc/PID/cmdline; `EXECBRIDGE_BACKEND_TOKEN` carries it instead.
final class BackendTokenTests: XCTestCase {
    private static let upstreamToken = "upstream-secret-token-4711"

    /// An upstream gateway that only runs sessions for `upstreamToken`.
    private func upstream() throws -> SecureGateway {
        try SecureGateway(tokens: "\(Self.upstreamToken),gateway,2001,system:masters\n")
    }

    func testCommandLineTokenWarnsAndIsHiddenFromProc() throws {
        let upstream = try upstream()
        let serve = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "spdy://127.0.0.1:\(upstream.port)",
                                      "--backend-token", Self.upstreamToken])
        XCTAssertTrue(serve.startupLog.contains("--backend-token-file"), serve.startupLog)
        XCTAssertTrue(serve.startupLog.contains("EXECBRIDGE_BACKEND_TOKEN"), serve.startupLog)
        XCTAssertFalse(serve.visibleCommandLine.contains(Self.upstreamToken), serve.visibleCommandLine)
        XCTAssertTrue(serve.visibleCommandLine.contains("--backend-token"), serve.visibleCommandLine)
        // The token was read before it was blanked: the upstream accepts the sessions.
        let run = ExecRun().run(.spdy, port: serve.port, path: SessionCases.path(["echo", "through"]))
        XCTAssertEqual(run.stdoutText, "through\n")
    }

    func testEnvironmentVariableCarriesTheToken() throws {
        let upstream = try upstream()
        let serve = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "spdy://127.0.0.1:\(upstream.port)"],
                                     environment: ["EXECBRIDGE_BACKEND_TOKEN": Self.upstreamToken])
        XCTAssertFalse(serve.startupLog.contains("--backend-token-file"), "no warning: \(serve.startupLog)")
        XCTAssertFalse(serve.visibleCommandLine.contains(Self.upstreamToken))
        let run = ExecRun().run(.spdy, port: serve.port, path: SessionCases.path(["echo", "env"]))
        XCTAssertEqual(run.stdoutText, "env\n")
        XCTAssertEqual(run.status, .success)
    }

    func testWithoutTokenTheUpstreamRefuses() throws {
        let upstream = try upstream()
        let serve = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "spdy://127.0.0.1:\(upstream.port)"],
                                     environment: ["EXECBRIDGE_BACKEND_TOKEN": ""])
        let run = ExecRun().run(.spdy, port: serve.port, path: SessionCases.path(["echo", "env"]))
        XCTAssertEqual(run.stdoutText, "")
        XCTAssertNotEqual(run.status, .success)
    }

    func testFlagsWinOverTheEnvironment() {
        var settings = BackendSettings()
        settings.token = "flag"
        settings.takeToken(fromEnvironment: ["EXECBRIDGE_BACKEND_TOKEN": "env"])
        XCTAssertEqual(settings.token, "flag")
        settings = BackendSettings()
        settings.tokenFile = "/some/file"
        settings.takeToken(fromEnvironment: ["EXECBRIDGE_BACKEND_TOKEN": "env"])
        XCTAssertNil(settings.token)
        settings = BackendSettings()
        settings.takeToken(fromEnvironment: ["EXECBRIDGE_BACKEND_TOKEN": "env"])
        XCTAssertEqual(settings.token, "env")
    }
}
