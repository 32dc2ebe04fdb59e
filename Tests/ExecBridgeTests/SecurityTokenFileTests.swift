@testable import ExecBridge
import ExecModel
import Foundation
import Reactor
import XCTest

/// `--token-file`: kube-apiserver's CSV, constant-time lookups, reload on change.
final class SecurityTokenFileTests: XCTestCase {
    func testCSVAsKubeAPIServerReadsIt() throws {
        let table = try TokenTable(csv: "t1,alice,1001,\"developers,team-a\"\r\n\nt2,bob,,ops\n\"t,3\",\"carol \"\"c\"\"\",3\n,empty,4\nt1,alice2,5\n")
        XCTAssertEqual(table.count, 4)
        XCTAssertEqual(table.identity(for: "t1"), Identity(user: "alice2", uid: "5", groups: []), "the last of a repeated token wins")
        XCTAssertEqual(table.identity(for: "t2"), Identity(user: "bob", uid: nil, groups: ["ops"]))
        XCTAssertEqual(table.identity(for: "t,3"), Identity(user: "carol \"c\"", uid: "3", groups: []))
        XCTAssertNil(table.identity(for: ""))
        XCTAssertNil(table.identity(for: "t"))
        XCTAssertNil(table.identity(for: "t1 "))
    }

    func testBadLinesAreNamedByNumberOnly() {
        let cases: [(String, String)] = [
            ("good,a,1\nsecret-one,bob\n", "line 2: needs at least 3 columns (token, user name, user uid), found 2"),
            ("secret\"two,a,1\n", "line 1: bare \" in a field (quote the whole field and double the quote)"),
            ("\"secret-three,a,1\n", "line 1: a quoted field is never closed"),
            ("\"secret-four\"x,a,1\n", "line 1: extraneous text after a closing quote"),
            ("secret-five,,1\n", "line 1: the user name (column 2) is empty"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try TokenTable(csv: text)) { error in
                XCTAssertEqual("\(error)", expected)
                XCTAssertFalse("\(error)".contains("secret"))
            }
        }
    }

    func testDigestComparison() {
        XCTAssertTrue(TokenDigest("abc").matches(TokenDigest("abc")))
        XCTAssertFalse(TokenDigest("abc").matches(TokenDigest("abd")))
        XCTAssertFalse(TokenDigest("abc").matches(TokenDigest("abc\0")))
    }

    func testReloadWhenTheFileChanges() throws {
        let gateway = try SecureGateway(tokens: "first-t0ken-aaaa,alice,1\n")
        let bearer = { (token: String) in [("Authorization", "Bearer \(token)")] }
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, headers: bearer("first-t0ken-aaaa")).status, .success)
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, headers: bearer("second-t0ken-bbbb")).code, 401)

        try gateway.writeTokens("second-t0ken-bbbb,bob,2,ops\n")
        XCTAssertEqual(try SecurityRun.run(.h2Prior, port: gateway.port, headers: bearer("second-t0ken-bbbb")).status, .success)
        XCTAssertEqual(try SecurityRun.run(.h2Prior, port: gateway.port, headers: bearer("first-t0ken-aaaa")).code, 401)
        XCTAssertEqual(gateway.auditLines(atLeast: 4)[2]["user"] as? String, "bob")
        XCTAssertTrue(gateway.logs.text.contains("token file reloaded"), gateway.logs.text)

        // A broken file keeps the previous tokens, and says so without repeating any line.
        try gateway.writeTokens("second-t0ken-bbbb,bob,2,ops\nthird-t0ken-cccc\n")
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, headers: bearer("second-t0ken-bbbb")).status, .success)
        XCTAssertTrue(gateway.logs.text.contains("token file not reloaded; keeping the previous tokens"), gateway.logs.text)
        XCTAssertTrue(gateway.logs.text.contains("line 2: needs at least 3 columns"), gateway.logs.text)
        XCTAssertFalse(gateway.logs.text.contains("t0ken"), gateway.logs.text)
    }

    /// The file is looked at no more than once per interval, on the worker's loop.
    func testChangesAreNotSeenBeforeTheInterval() throws {
        let path = NSTemporaryDirectory() + "execbridge-tokens-\(getpid())-\(UUID().uuidString.prefix(6)).csv"
        try "one,alice,1\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let slow = TokenFileWatcher(path: path, table: try TokenTable.load(path: path), signature: SecurityFiles.signature(path),
                                    interval: 3600, logger: LogCapture().logger)
        let eager = TokenFileWatcher(path: path, table: try TokenTable.load(path: path), signature: SecurityFiles.signature(path),
                                     interval: 0, logger: LogCapture().logger)
        try "two,bob,2\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNotNil(slow.current.identity(for: "one"))
        XCTAssertNil(slow.current.identity(for: "two"))
        XCTAssertNil(eager.current.identity(for: "one"))
        XCTAssertNotNil(eager.current.identity(for: "two"))
    }

    func testBearerHeaderForms() {
        func token(_ headers: [(name: String, value: String)]) -> String? {
            BearerToken.presented(in: SecurityContexts.make(headers: headers))
        }
        XCTAssertEqual(token([("authorization", "Bearer abc")]), "abc")
        XCTAssertEqual(token([("authorization", "  bearer abc  ")]), "abc")
        XCTAssertNil(token([("authorization", "Basic YTpi")]))
        XCTAssertNil(token([("authorization", "Bearer ")]))
        XCTAssertNil(token([]))
        XCTAssertEqual(token([("sec-websocket-protocol", "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.YWJj")]), "abc")
        XCTAssertEqual(token([("sec-websocket-protocol", "base64url.bearer.authorization.k8s.io.***")]), "")
    }
}
