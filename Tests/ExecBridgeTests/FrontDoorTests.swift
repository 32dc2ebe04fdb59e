@testable import ExecBridge
import XCTest

final class FrontDoorTests: XCTestCase {
    func testHealthAndReadyAnswerOK() throws {
        let harness = try GatewayHarness()
        for path in ["/healthz", "/readyz"] {
            let socket = try RawSocket(port: harness.port)
            socket.send("GET \(path) HTTP/1.1\r\nHost: gw\r\n\r\n")
            let response = socket.readResponse()
            XCTAssertEqual(response?.status, 200, path)
            XCTAssertEqual(response?.body, "ok", path)
        }
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let harness = try GatewayHarness()
        let socket = try RawSocket(port: harness.port)
        socket.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\nGET /readyz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 200)
        XCTAssertEqual(socket.readResponse()?.status, 200)
    }

    func testUnknownPathIs404Status() throws {
        let harness = try GatewayHarness()
        let socket = try RawSocket(port: harness.port)
        socket.send("GET /nope HTTP/1.1\r\nHost: gw\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 404)
        XCTAssertTrue(response.head.lowercased().contains("content-type: application/json"))
        XCTAssertEqual(response.body, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}"#)
    }

    func testExecWithoutUpgradeIs400UpgradeRequired() throws {
        let harness = try GatewayHarness()
        let socket = try RawSocket(port: harness.port)
        socket.send("POST /proxy/minions/n1/exec/default/web/app?command=date&output=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.body.contains(#""message":"Upgrade request required""#), response.body)
        // The connection stays for the next request (keep-alive; it closed before issue 15).
        socket.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 200)
    }

    func testExecErrorsAreStatusBodies() throws {
        let harness = try GatewayHarness()
        let cases: [(String, Int, String)] = [
            ("/proxy/nodes/n1/exec/default/web/app?command=date", 400, "you must specify at least 1 of stdin, stdout, stderr"),
            ("/proxy/nodes/n1/exec/default/web/app?output=1", 400, "you must specify at least one command"),
            ("/proxy/nodes/n1/exec/default/Bad_Pod/app?command=date&output=1", 400, "Bad_Pod"),
        ]
        for (path, status, text) in cases {
            let socket = try RawSocket(port: harness.port)
            socket.send("POST \(path) HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n")
            let response = try XCTUnwrap(socket.readResponse(), path)
            XCTAssertEqual(response.status, status, path)
            XCTAssertTrue(response.body.contains(text), "\(path): \(response.body)")
        }
    }

    func testOversizedHeadIs431() throws {
        let harness = try GatewayHarness()
        let socket = try RawSocket(port: harness.port)
        socket.send("GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Big: " + String(repeating: "a", count: 70 * 1024) + "\r\n\r\n")
        XCTAssertEqual(socket.readResponse()?.status, 431)
    }

    func testStalledHeadIs408() throws {
        let harness = try GatewayHarness { $0.headTimeout = 0.3 }
        let socket = try RawSocket(port: harness.port)
        socket.send("GET /healthz HTTP/1.1\r\nHost: g")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 408)
        XCTAssertTrue(socket.peerClosed())
    }

    func testMalformedRequestIs400AndUnsupportedVersionIs505() throws {
        let harness = try GatewayHarness()
        let bad = try RawSocket(port: harness.port)
        bad.send("GET /healthz HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(bad.readResponse()?.status, 400)
        let version = try RawSocket(port: harness.port)
        version.send("GET /healthz HTTP/3.0\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(version.readResponse()?.status, 505)
    }

    func testTwoLoopsBothAcceptConnections() throws {
        let harness = try GatewayHarness(threads: 2)
        // The kernel spreads connections over the two listeners by hash: open enough of them that
        // both loops must have taken some, and check every one is served.
        var sockets: [RawSocket] = []
        for _ in 0..<32 {
            let socket = try RawSocket(port: harness.port)
            socket.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            sockets.append(socket)
        }
        for socket in sockets { XCTAssertEqual(socket.readResponse()?.status, 200) }
        let counts = harness.gateway.acceptedPerLoop
        XCTAssertEqual(counts.reduce(0, +), 32)
        XCTAssertTrue(counts.allSatisfy { $0 > 0 }, "accepted per loop: \(counts)")
    }
}

/// The inventory decides which targets exist, before any upgrade.
final class InventoryFrontDoorTests: XCTestCase {
    func testUnknownPodIs404AndKnownPodRunsInItsWorkingDirectory() throws {
        let inventory = try Inventory(yaml: """
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    workingDir: /tmp
                    env: {GREETING: hallo}
            """)
        let harness = try GatewayHarness(backend: { _ in LocalBackend(inventory: inventory, graceSeconds: 1) })
        let socket = try RawSocket(port: harness.port)
        socket.send("POST /proxy/nodes/n1/exec/default/nope/app?command=date&output=1 HTTP/1.1\r\nHost: gw\r\n"
                    + "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
        let response = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(response.status, 404)
        XCTAssertTrue(response.body.contains(#"pods \"nope\" not found"#), response.body)

        let r = ExecRun().run(.h2Prior, port: harness.port, path: SessionCases.path(["sh", "-c", "pwd; echo $GREETING"]))
        XCTAssertEqual(r.stdoutText, "/tmp\nhallo\n")
        XCTAssertEqual(r.status, .success)
    }
}
