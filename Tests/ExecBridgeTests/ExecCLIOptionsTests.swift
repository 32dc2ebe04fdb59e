@testable import ExecBridge
import ExecModel
import XCTest

/// `execbridge exec` argument handling: URLs, the query it builds, versions, and the one-line errors.
final class ExecCLIOptionsTests: XCTestCase {
    private func resolve(_ url: String, _ command: [String] = ["echo", "hi"],
                         _ change: (inout ExecCLIOptions) -> Void = { _ in }) throws -> ExecCLIOptions.Resolved {
        var options = ExecCLIOptions(url: url, command: command)
        change(&options)
        return try options.resolve()
    }

    private func usageError(_ url: String, _ command: [String] = ["true"],
                            _ change: (inout ExecCLIOptions) -> Void = { _ in }) -> String? {
        do {
            _ = try resolve(url, command, change)
            return nil
        } catch let error as ExecCLIError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    func testApiserverFormGetsCommandAndFlagsInItsStyle() throws {
        let r = try resolve("http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/exec?container=app",
                            ["sh", "-c", "echo a;b & c"]) { $0.stdin = true }
        XCTAssertEqual(r.host, "127.0.0.1")
        XCTAssertEqual(r.port, 8080)
        XCTAssertFalse(r.secure)
        XCTAssertEqual(r.client.authority, "127.0.0.1:8080")
        XCTAssertEqual(r.client.path, "/api/v1/namespaces/default/pods/web/exec?container=app&command=sh&command=-c"
            + "&command=echo%20a%3Bb%20%26%20c&stdin=true&stdout=true&stderr=true")
        XCTAssertTrue(r.client.stdin)
        XCTAssertTrue(r.client.stderr)
        XCTAssertFalse(r.client.tty)
        XCTAssertEqual(r.client.versions, [.v4, .v3, .v2, .v1])
    }

    func testKubeletFormGetsKubeletFlagsAndTTYDropsStderr() throws {
        let r = try resolve("http://node:10250/exec/default/web/app", ["top"]) {
            $0.stdin = true
            $0.tty = true
        }
        XCTAssertEqual(r.client.path, "/exec/default/web/app?command=top&input=1&output=1&tty=1")
        XCTAssertTrue(r.client.tty)
        XCTAssertFalse(r.client.stderr)
        XCTAssertEqual(r.client.channels(for: .v4), [.error, .stdin, .stdout, .resize])
    }

    func testFlagsAndCommandInTheURLAreReplaced() throws {
        let r = try resolve("http://h/api/v1/namespaces/ns/pods/p/exec?command=old&stdin=true&tty=true&container=c", ["new"])
        XCTAssertEqual(r.client.path, "/api/v1/namespaces/ns/pods/p/exec?container=c&command=new&stdout=true&stderr=true")
        XCTAssertEqual(r.port, 80)
    }

    func testTheURLsOwnCommandIsKeptWithoutArguments() throws {
        let r = try resolve("http://h/api/v1/namespaces/ns/pods/p/exec?command=ls&command=-l", [])
        XCTAssertEqual(r.client.path, "/api/v1/namespaces/ns/pods/p/exec?command=ls&command=-l&stdout=true&stderr=true")
        XCTAssertEqual(usageError("http://h/api/v1/namespaces/ns/pods/p/exec", []), "no command: give one after --")
    }

    func testLegacyProxyFormAndHTTPSWithIPv6() throws {
        let r = try resolve("https://[::1]:6443/proxy/minions/node1/exec/default/web/app") { $0.insecureSkipTLSVerify = true }
        XCTAssertTrue(r.secure)
        XCTAssertEqual(r.host, "::1")
        XCTAssertEqual(r.port, 6443)
        XCTAssertEqual(r.client.authority, "[::1]:6443")
        XCTAssertEqual(r.client.path, "/proxy/minions/node1/exec/default/web/app?command=echo&command=hi&output=1&error=1")
        XCTAssertEqual(try resolve("https://example.org/exec/a/b/c").port, 443)
    }

    func testTokenBecomesABearerHeader() throws {
        let r = try resolve("http://h/exec/a/b/c") { $0.token = "s3cret" }
        XCTAssertEqual(r.client.headers.map { "\($0.name): \($0.value)" }, ["Authorization: Bearer s3cret"])
    }

    func testVersionList() throws {
        XCTAssertEqual(try ExecCLIOptions.parseVersions("v4,v3"), [.v4, .v3])
        XCTAssertEqual(try ExecCLIOptions.parseVersions("v2.channel.k8s.io, channel.k8s.io"), [.v2, .v1])
        XCTAssertEqual(try ExecCLIOptions.parseVersions("v1,v5"), [.v1, .v5])
        XCTAssertThrowsError(try ExecCLIOptions.parseVersions("v9")) { error in
            XCTAssertEqual("\(error)", "--version-list: unknown channel version \"v9\" (v1 to v5)")
        }
        let r = try resolve("http://h/exec/a/b/c") { $0.versions = [.v2] }
        XCTAssertEqual(r.client.versions, [.v2])
        let ws = try resolve("http://h/exec/a/b/c") { $0.wireProtocol = .ws }
        XCTAssertEqual(ws.client.versions.first, .v5)
    }

    func testProtocolNames() {
        XCTAssertEqual(ExecCLIOptions.WireProtocol.allCases.map(\.rawValue), ["spdy", "h2", "h2c-upgrade", "ws"])
    }

    func testBadArgumentsAreOneLineErrors() {
        XCTAssertEqual(usageError("ftp://h/exec/a/b/c"), "URL must start with http:// or https:// (got \"ftp://h/exec/a/b/c\")")
        XCTAssertEqual(usageError("http://h/healthz"),
                       "/healthz is not an exec path (e.g. /api/v1/namespaces/NS/pods/POD/exec?container=C)")
        XCTAssertEqual(usageError("http://h:99999/exec/a/b/c"), "bad port in \"http://h:99999/exec/a/b/c\"")
        XCTAssertEqual(usageError("http://user:pw@h/exec/a/b/c"),
                       "URL has no host, or has user info (use --token): \"http://user:pw@h/exec/a/b/c\"")
        XCTAssertEqual(usageError("http://h/exec/a/BAD_POD/c")?.hasPrefix("invalid exec URL: invalid pod name \"BAD_POD\""), true)
        XCTAssertEqual(usageError("http://h/attach/a/b/c"),
                       "execbridge exec needs an exec URL, not attach (execbridge attach URL joins a main process)")
        XCTAssertEqual(usageError("https://h/exec/a/b/c") { $0.wireProtocol = .h2cUpgrade },
                       "--protocol h2c-upgrade needs an http:// URL (over TLS use --protocol h2)")
        XCTAssertEqual(usageError("http://h/exec/a/b/c") { $0.ca = "/ca.pem" },
                       "--ca, --cert, --key and --insecure-skip-tls-verify need an https:// URL")
        XCTAssertEqual(usageError("https://h/exec/a/b/c") { $0.certificate = "/c.pem" }, "--cert and --key go together")
        XCTAssertEqual(usageError("https://h/exec/a/b/c") {
            $0.certificate = "/c.pem"
            $0.key = "/k.pem"
            $0.token = "t"
        }, "--token and --cert/--key are alternatives: give one")
    }

    func testRefusalWording() {
        XCTAssertEqual(ExecCLIError.refused(status: 403, reason: "Forbidden", message: "no").description,
                       "upgrade refused: 403 Forbidden: no")
    }

    func testStatusDescriptionsSpellOutErrno() {
        let status = ExecStatus.internalError("connection to backend closed before the upgrade (error(111))")
        XCTAssertEqual(ExecCLISession.describe(status), "connection to server closed before the upgrade (Connection refused)")
        XCTAssertEqual(ExecCLISession.describe(.exitCode(3, detail: "exit status 3")),
                       "command terminated with non-zero exit code: exit status 3")
    }
}
