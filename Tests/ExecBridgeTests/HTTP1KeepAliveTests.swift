@testable import ExecBridge
import XCTest

/// Issue 15 item 1: HTTP/1.1 keep-alive serves many plain requests on one connection, and an exec
/// path asked without an upgrade is refused without losing the connection (on `main` that
/// refusal closed it). A refused upgrade still closes.
final class HTTP1KeepAliveTests: XCTestCase {
    private func get(_ target: String, method: String = "GET", extra: String = "", body: String = "") -> String {
        let length = body.isEmpty ? "" : "Content-Length: \(body.utf8.count)\r\n"
        return "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)\(length)\r\n\(body)"
    }

    func testManyRequestsIncludingAnExecRefusalOnOneConnection() throws {
        let harness = try GatewayHarness()
        let socket = try RawSocket(port: harness.port)
        let exec = SessionCases.path(["echo", "hi"], "stdout=1")
        let steps: [(String, Int)] = [
            (get("/healthz"), 200),
            (get(exec), 400),
            (get("/readyz"), 200),
            (get("/no/such/thing"), 404),
            (get(exec, method: "POST", body: "a body to skip"), 400),
            (get("/livez"), 200),
        ]
        for (i, (request, status)) in steps.enumerated() {
            socket.send(request)
            let response = try XCTUnwrap(socket.readResponse(), "answer \(i)")
            XCTAssertEqual(response.status, status, "answer \(i): \(response.head)")
            XCTAssertFalse(response.head.lowercased().contains("connection: close"), "answer \(i): \(response.head)")
        }
        // All pipelined in one write, too.
        socket.send(get("/healthz") + get(exec) + get("/healthz"))
        XCTAssertEqual(socket.readResponse()?.status, 200)
        let refusal = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(refusal.status, 400)
        XCTAssertTrue(refusal.body.contains("Upgrade request required"), refusal.body)
        XCTAssertEqual(socket.readResponse()?.status, 200)
    }

    func testRefusedUpgradeStillCloses() throws {
        let harness = try GatewayHarness()
        let socket = try RawSocket(port: harness.port)
        socket.send(get(SessionCases.path(["echo", "hi"], "stdout=1"), extra: "Connection: Upgrade\r\n"))
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.head.contains("Connection: close"), response.head)
        XCTAssertTrue(socket.peerClosed())
    }
}
