@testable import ExecBridge
import ExecModel
import HTTP2
import XCTest

/// Port-forward on HTTP/2 (docs/protocol.md, "Port-forward on HTTP/2"), end to end over loopback.
final class HTTP2PortForwardTests: XCTestCase {
    func testBytesBothWaysWithHalfClose() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let tunnel = try client.openTunnel(port: pod.port, requestID: "t-1")
        XCTAssertEqual(client[tunnel.error].status, 200)
        let payload = PortForwardFixtures.random(1 << 20)
        try client.send(payload, on: tunnel.data, end: true)
        XCTAssertTrue(client.run { client[tunnel.data].ended && client.ended(tunnel) })
        XCTAssertEqual(client[tunnel.data].status, 200)
        XCTAssertEqual(client[tunnel.data].body.count, payload.count)
        XCTAssertTrue(client[tunnel.data].body == payload, "the bytes came back changed")
        XCTAssertEqual(client[tunnel.error].text, "")
    }

    func testRefusedAndUnlistedPortsAreErrorsOnTheErrorStream() throws {
        let refused = closedPort()
        let unlisted = closedPort()
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port], containerPorts: [refused])
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let first = try client.openTunnel(PortForwardFixtures.apiserverPath, port: refused, requestID: "1")
        let second = try client.openTunnel(port: unlisted, requestID: "2")
        XCTAssertTrue(client.run { client.ended(first) && client.ended(second) })
        XCTAssertEqual(client[first.error].status, 200)
        XCTAssertEqual(client[first.error].text,
                       "error forwarding port \(refused) to pod default/web: dial tcp4 127.0.0.1:\(refused): connect: connection refused")
        XCTAssertEqual(client[second.error].text,
                       "error forwarding port \(unlisted) to pod default/web: port not listed in the inventory")
        // The connection carries the next tunnel.
        let working = try client.openTunnel(port: pod.port, requestID: "3")
        try client.send(Array("still here".utf8), on: working.data, end: true)
        XCTAssertTrue(client.run { client.ended(working) && client[working.data].ended })
        XCTAssertEqual(client[working.data].text, "still here")
    }

    /// Per-stream flow control: a client that stops reading one tunnel holds only that tunnel.
    func testATunnelTheClientDoesNotReadDoesNotHoldTheOthers() throws {
        let big = PortForwardFixtures.random(4 << 20)
        let source = try PodPortServer(serve: PodPortServer.sending(big))
        let echo = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [source.port, echo.port])
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let stuck = try client.openTunnel(port: source.port, requestID: "stuck")
        client.unread.insert(stuck.data)
        let moving = try client.openTunnel(port: echo.port, requestID: "moving")
        let payload = PortForwardFixtures.random(512 << 10)
        try client.send(payload, on: moving.data, end: true)
        XCTAssertTrue(client.run { client.ended(moving) && client[moving.data].ended })
        XCTAssertTrue(client[moving.data].body == payload)
        XCTAssertFalse(client.ended(stuck), "the unread tunnel ended")
        XCTAssertLessThan(client[stuck.data].body.count, big.count)
        // Read again, it delivers everything.
        client.resumeReading(stuck.data)
        XCTAssertTrue(client.run { client.ended(stuck) && client[stuck.data].ended })
        XCTAssertTrue(client[stuck.data].body == big, "the paused tunnel lost or changed bytes")
    }

    func testMalformedStreamsAreRefusedWithAStatus() throws {
        let harness = try PortForwardFixtures.gateway(podPorts: [8080])
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let path = PortForwardFixtures.kubeletPath
        let noType = try client.open([(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", path),
                                      ("port", "8080"), ("requestid", "1")])
        let badPort = try client.open(client.portForwardHeaders(path, type: "error", port: 0, requestID: "2"))
        let badID = try client.open(client.portForwardHeaders(path, type: "error", port: 8080, requestID: "a b"))
        let orphan = try client.open(client.portForwardHeaders(path, type: "data", port: 8080, requestID: "3"))
        let unknownPod = try client.open(client.portForwardHeaders("/portForward/default/nope", type: "error", port: 8080,
                                                                   requestID: "4"))
        XCTAssertTrue(client.run { [noType, badPort, badID, orphan, unknownPod].allSatisfy { client[$0].ended } })
        XCTAssertEqual([noType, badPort, badID, orphan].map { client[$0].status }, [400, 400, 400, 400])
        XCTAssertTrue(client[badPort].text.contains(#"port \"0\" must be \u003e 0"#) || client[badPort].text.contains("must be > 0"),
                      client[badPort].text)
        XCTAssertTrue(client[orphan].text.contains("no error stream for requestid 3"), client[orphan].text)
        XCTAssertEqual(client[unknownPod].status, 404)
    }

    func testTheSessionLimitCountsTunnels() throws {
        let echo = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [echo.port]) { $0.limits = SessionLimits(maxSessions: 1) }
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let first = try client.openTunnel(port: echo.port, requestID: "1")
        XCTAssertEqual(client[first.error].status, 200)
        let second = try client.open(client.portForwardHeaders(PortForwardFixtures.kubeletPath, type: "error",
                                                               port: echo.port, requestID: "2"))
        XCTAssertTrue(client.run { client[second].ended })
        XCTAssertEqual(client[second].status, 503)
        // The first tunnel's end gives the place back.
        try client.send(Array("x".utf8), on: first.data, end: true)
        XCTAssertTrue(client.run { client.ended(first) })
        let third = try client.openTunnel(port: echo.port, requestID: "3")
        XCTAssertEqual(client[third.error].status, 200)
    }
}

/// A port-forward connection stays while its client keeps it, between forwarded connections too.
final class HTTP2PortForwardIdleTests: XCTestCase {
    func testAPortForwardConnectionIsNotClosedForIdleness() throws {
        let echo = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [echo.port]) { $0.keepAliveTimeout = 0.3 }
        let client = try H2MuxClient(port: harness.port)
        defer { client.close() }
        let first = try client.openTunnel(port: echo.port, requestID: "1")
        try client.send(Array("one".utf8), on: first.data, end: true)
        XCTAssertTrue(client.run { client.ended(first) && client[first.data].ended })
        // Several idle bounds pass without a stream open: an exec-only connection would be gone.
        XCTAssertFalse(client.run(timeout: 1.5) { client.closed || client.goAway != nil })
        let second = try client.openTunnel(port: echo.port, requestID: "2")
        try client.send(Array("two".utf8), on: second.data, end: true)
        XCTAssertTrue(client.run { client.ended(second) && client[second.data].ended })
        XCTAssertEqual(client[second.data].text, "two")
    }
}
