@testable import ExecBridge
import Foundation
import XCTest

/// The safe default, checked by `ServeMain.makeConfig` before anything binds.
final class SecurityStartupTests: XCTestCase {
    private func options(_ listen: [String], _ configure: (inout SecuritySettings) -> Void = { _ in },
                         tls: Bool = false) throws -> ServeOptions {
        var security = SecuritySettings()
        configure(&security)
        let certificate = tls ? try TestCertificate.shared() : nil
        return ServeOptions(listen: listen, threads: 1, backend: BackendSettings(), security: security,
                            tlsCert: certificate?.cert, tlsKey: certificate?.key, logFormat: "text", logLevel: "info",
                            channelBudget: 256 * 1024, streamCreationTimeout: 30, idleTimeout: 60, headTimeout: 10, drainTimeout: 5)
    }

    private func tempFile(_ name: String, _ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "execbridge-startup-\(getpid())-\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testPublicAddressWithoutAuthenticationRefusesToStart() throws {
        for listen in [["0.0.0.0:8080"], [":8080"], ["[::]:8080"], ["127.0.0.1:8080", "0.0.0.0:8443"]] {
            XCTAssertThrowsError(try ServeMain.makeConfig(try options(listen), logger: LogCapture().logger), "\(listen)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("refusing to serve exec without authentication on "), text)
                XCTAssertTrue(text.contains("not a loopback address"), text)
                XCTAssertTrue(text.contains("--token-file") && text.contains("--client-ca") && text.contains("--allow-anonymous"), text)
                XCTAssertFalse(text.contains("127.0.0.1:8080"), "only the exposed address is named: \(text)")
            }
        }
    }

    func testLoopbackAddressesStartWithoutAuthentication() throws {
        let config = try ServeMain.makeConfig(try options(["127.0.0.1:8080", "[::1]:8081", "localhost:8082"]),
                                              logger: LogCapture().logger)
        let security = config.pipelineExtensions.compactMap { $0 as? SecurityExtension }
        XCTAssertEqual(security.count, 1)
        let installed = try XCTUnwrap(security.first)
        XCTAssertTrue(installed.anonymousAllowed)
    }

    func testATokenFileOrClientCAMakesAPublicAddressAcceptable() throws {
        let tokens = try tempFile("tokens.csv", "t0ken-startup-1,alice,1\n")
        let withTokens = try ServeMain.makeConfig(try options(["0.0.0.0:8080"]) { $0.tokenFile = tokens }, logger: LogCapture().logger)
        XCTAssertEqual((withTokens.pipelineExtensions.first as? SecurityExtension)?.anonymousAllowed, false)

        let ca = try SecurityCertificates.shared().clientCA
        let withCA = try ServeMain.makeConfig(try options(["0.0.0.0:8080"], { $0.clientCA = ca }, tls: true), logger: LogCapture().logger)
        XCTAssertNotNil(withCA.tls)
        XCTAssertEqual((withCA.pipelineExtensions.first as? SecurityExtension)?.certificates, true)
    }

    func testAllowAnonymousOverridesWithAWarning() throws {
        let logs = LogCapture()
        let config = try ServeMain.makeConfig(try options(["0.0.0.0:8080"]) { $0.allowAnonymous = true }, logger: logs.logger)
        XCTAssertEqual((config.pipelineExtensions.first as? SecurityExtension)?.anonymousAllowed, true)
        XCTAssertTrue(logs.text.contains("warning --allow-anonymous: anyone who can reach these addresses may run commands without credentials"),
                      logs.text)
        XCTAssertTrue(logs.text.contains("addresses=0.0.0.0:8080"), logs.text)
    }

    func testClientCANeedsTLS() throws {
        let ca = try SecurityCertificates.shared().clientCA
        XCTAssertThrowsError(try ServeMain.makeConfig(try options(["127.0.0.1:8080"]) { $0.clientCA = ca }, logger: LogCapture().logger)) {
            XCTAssertTrue("\($0)".contains("--client-ca needs --tls-cert and --tls-key"), "\($0)")
        }
    }

    func testBadFilesFailTheStartAndSayWhy() throws {
        let policy = try tempFile("policy.yaml", "rules:\n  - users: [a]\n    nmespaces: [x]\n")
        XCTAssertThrowsError(try ServeMain.makeConfig(try options(["127.0.0.1:8080"]) { $0.policyFile = policy }, logger: LogCapture().logger)) {
            XCTAssertTrue("\($0)".contains(#"unknown key "nmespaces""#), "\($0)")
        }
        let secret = "very-secret-t0ken-in-a-bad-line"
        let tokens = try tempFile("bad-tokens.csv", "ok-t0ken,alice,1\n\(secret),bob\n")
        XCTAssertThrowsError(try ServeMain.makeConfig(try options(["127.0.0.1:8080"]) { $0.tokenFile = tokens }, logger: LogCapture().logger)) {
            XCTAssertTrue("\($0)".contains("line 2: needs at least 3 columns"), "\($0)")
            XCTAssertFalse("\($0)".contains(secret), "a token in an error message: \($0)")
        }
        XCTAssertThrowsError(try ServeMain.makeConfig(try options(["127.0.0.1:8080"]) { $0.tokenFile = "/no/such/tokens.csv" },
                                                      logger: LogCapture().logger))
        XCTAssertThrowsError(try ServeMain.makeConfig(try options(["127.0.0.1:8080"]) { $0.auditRedact = ["(unclosed"] },
                                                      logger: LogCapture().logger)) {
            XCTAssertTrue("\($0)".contains("--audit-redact (unclosed: not a valid regular expression"), "\($0)")
        }
        XCTAssertThrowsError(try ServeMain.makeConfig(try options(["127.0.0.1:8080"]) { $0.auditLog = "/no/such/dir/audit.log" },
                                                      logger: LogCapture().logger)) {
            XCTAssertTrue("\($0)".contains("--audit-log /no/such/dir/audit.log"), "\($0)")
        }
    }
}
