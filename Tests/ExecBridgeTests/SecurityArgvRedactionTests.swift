@testable import ExecBridge
import ExecModel
import XCTest

/// The default audit redaction also hides secrets split over argv elements, URL credentials and
/// secret-named environment assignments (issue 12).
final class SecurityArgvRedactionTests: XCTestCase {
    private let redactor = try! AuditRedactor(patterns: [])
    private let R = "[REDACTED]"

    private func argv(_ input: [String], _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(redactor.redact(argv: input), expected, "\(input)", file: file, line: line)
    }

    func testPasswordFlagAndValueSplit() {
        argv(["app", "--password", "hunter2", "--user", "bob"], ["app", "--password", R, "--user", "bob"])
    }

    func testTokenFlagAndValueSplit() {
        argv(["kubectl", "--token", "abc", "get", "pods"], ["kubectl", "--token", R, "get", "pods"])
    }

    func testSecretAndAPIKeyFlagsSplit() {
        argv(["app", "--secret", "s", "--api-key", "k", "--API_KEY", "k2", "-token", "t"],
             ["app", "--secret", R, "--api-key", R, "--API_KEY", R, "-token", R])
    }

    func testMySQLShortPasswordFlag() {
        argv(["mysql", "-u", "root", "-p", "hunter2", "db"], ["mysql", "-u", "root", "-p", R, "db"])
        argv(["/usr/bin/mysqldump", "-phunter2", "db"], ["/usr/bin/mysqldump", "-p" + R, "db"])
        argv(["sudo", "mariadb", "-p", "pw"], ["sudo", "mariadb", "-p", R])
        // Elsewhere -p is a port or a path: kept.
        argv(["ssh", "-p", "2222", "host"], ["ssh", "-p", "2222", "host"])
        argv(["mysql", "-P", "3306"], ["mysql", "-P", "3306"])
    }

    func testFlagAtTheEndHasNoValue() {
        argv(["app", "--password"], ["app", "--password"])
    }

    func testSplitPairsInsideOneString() {
        argv(["sh", "-c", "curl --token abc https://x"], ["sh", "-c", "curl --token \(R) https://x"])
        argv(["sh", "-c", "mysql -u root -phunter2 -e 'select 1'"], ["sh", "-c", "mysql -u root -p\(R) -e 'select 1'"])
        argv(["sh", "-c", "mysql -u root -p hunter2 db"], ["sh", "-c", "mysql -u root -p \(R) db"])
    }

    func testURLCredentials() {
        argv(["mysql", "mysql://u:pw@h/db"], ["mysql", "mysql://u:\(R)@h/db"])
        argv(["curl", "https://user:s3cr3t@example.com/x"], ["curl", "https://user:\(R)@example.com/x"])
        argv(["git", "clone", "https://tok:x-oauth@github.com/a/b"], ["git", "clone", "https://tok:\(R)@github.com/a/b"])
        argv(["curl", "http://host:8080/path", "https://example.com/a@b"], ["curl", "http://host:8080/path", "https://example.com/a@b"])
    }

    func testEnvironmentAssignments() {
        argv(["env", "MYSQL_PWD=hunter2", "mysql"], ["env", "MYSQL_PWD=\(R)", "mysql"])
        argv(["env", "aws_secret=abc", "AWS_SECRET=abc", "GITHUB_TOKEN=ghp", "Db_Password=pw", "SMTP_PASS=pw"],
             ["env", "aws_secret=\(R)", "AWS_SECRET=\(R)", "GITHUB_TOKEN=\(R)", "Db_Password=\(R)", "SMTP_PASS=\(R)"])
        argv(["sh", "-c", "MY_APP_SECRET=xyz run"], ["sh", "-c", "MY_APP_SECRET=\(R) run"])
        argv(["env", "compass=north", "PATH=/bin"], ["env", "compass=north", "PATH=/bin"])
    }

    func testCustomRulesAloneDoNotAddThePairs() throws {
        let custom = try AuditRedactor(patterns: [#"hunter\d"#])
        XCTAssertEqual(custom.redact(argv: ["app", "--password", "pw"]), ["app", "--password", "pw"])
        let extended = try AuditRedactor(patterns: ["default", #"hunter\d"#])
        XCTAssertEqual(extended.redact(argv: ["app", "--password", "pw"]), ["app", "--password", R])
    }

    func testAuditRecordHidesSplitPassword() throws {
        let gateway = try SecureGateway()
        _ = try SecurityRun.run(.spdy, port: gateway.port,
                                path: SessionCases.path(["echo", "--password", "hunter2", "mysql://u:pw@h"]))
        XCTAssertEqual(gateway.lastAudit(count: 1)["argv"] as? [String], ["echo", "--password", R, "mysql://u:\(R)@h"])
    }
}
