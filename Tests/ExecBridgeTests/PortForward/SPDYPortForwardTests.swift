@testable import ExecBridge
import ExecModel
import Glibc
import XCTest

/// kubelet's SPDY port-forward (`portforward.k8s.io`) against the local backend, end to end over
/// loopback: a client as kubectl speaks it, a TCP server standing in for the pod's port.
final class SPDYPortForwardTests: XCTestCase {
    func testBytesBothWaysWithHalfClose() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        XCTAssertEqual(client.answer?.status, 101)
        XCTAssertTrue(client.answer?.head.contains("X-Stream-Protocol-Version: portforward.k8s.io") == true)
        let tunnel = try client.open(port: pod.port, requestID: "0")
        let payload = PortForwardFixtures.random(1 << 20)
        try client.send(payload, on: tunnel.data, fin: true)
        // The echo server sees our FIN only through the gateway's shutdown(SHUT_WR); its own EOF
        // comes back as the data stream's FIN, and the tunnel ends with nothing on the error stream.
        XCTAssertTrue(client.pump { client.finished.contains(tunnel.data) && client.ended(tunnel) })
        XCTAssertEqual(client.received[tunnel.data]?.count, payload.count)
        XCTAssertTrue(client.received[tunnel.data] == payload, "the bytes came back changed")
        XCTAssertEqual(client.text(tunnel.error), "")
        XCTAssertTrue(client.replied.contains(tunnel.error) && client.replied.contains(tunnel.data))
    }

    func testRefusedPortIsAnErrorOnTheErrorStreamAndTheConnectionGoesOn() throws {
        let refused = closedPort()
        let pod = try PodPortServer(serve: PodPortServer.echo)
        // The refused port is listed on the container, the working one on the pod.
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port], containerPorts: [refused])
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.apiserverPath)
        XCTAssertEqual(client.answer?.status, 101)
        let failed = try client.open(port: refused, requestID: "1")
        XCTAssertTrue(client.pump { client.ended(failed) })
        XCTAssertEqual(client.text(failed.error),
                       "error forwarding port \(refused) to pod default/web: dial tcp4 127.0.0.1:\(refused): connect: connection refused")
        // One tunnel failing never ends the others, nor the connection.
        let working = try client.open(port: pod.port, requestID: "2")
        try client.send(Array("hello".utf8), on: working.data, fin: true)
        XCTAssertTrue(client.pump { client.ended(working) })
        XCTAssertEqual(client.text(working.data), "hello")
        XCTAssertEqual(client.text(working.error), "")
        XCTAssertFalse(client.closed)
    }

    func testUnlistedPortIsRefusedOnTheErrorStream() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [closedPort()])
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        let tunnel = try client.open(port: pod.port, requestID: "1")
        XCTAssertTrue(client.pump { client.ended(tunnel) })
        XCTAssertEqual(client.text(tunnel.error),
                       "error forwarding port \(pod.port) to pod default/web: port not listed in the inventory")
        XCTAssertEqual(pod.connections, 0, "an unlisted port was connected to")
    }

    func testWithoutAnInventoryNoPortIsForwarded() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try GatewayHarness()
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        XCTAssertEqual(client.answer?.status, 101)
        let tunnel = try client.open(port: pod.port, requestID: "1")
        XCTAssertTrue(client.pump { client.ended(tunnel) })
        XCTAssertEqual(client.text(tunnel.error),
                       "error forwarding port \(pod.port) to pod default/web: no ports are forwardable without an inventory")
        XCTAssertEqual(pod.connections, 0)
    }

    func testAStalledTunnelDoesNotHoldTheOthers() throws {
        let stalled = try PodPortServer(serve: PodPortServer.stall)
        let echo = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [stalled.port, echo.port])
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        let stuck = try client.open(port: stalled.port, requestID: "1")
        try client.send(Array("are you there?".utf8), on: stuck.data)
        let payload = PortForwardFixtures.random(256 << 10)
        let moving = try client.open(port: echo.port, requestID: "2")
        try client.send(payload, on: moving.data, fin: true)
        XCTAssertTrue(client.pump { client.ended(moving) })
        XCTAssertTrue(client.received[moving.data] == payload)
        XCTAssertFalse(client.ended(stuck), "the stalled tunnel ended with the other")
        XCTAssertEqual(stalled.connections, 1)
    }

    func testClientsWithoutRequestIDPairStreamsByID() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath, protocols: [])
        XCTAssertEqual(client.answer?.status, 101)
        let error = try client.session.openStream(headers: ["streamtype": "error", "port": "\(pod.port)"])
        let data = try client.openReplied(["streamtype": "data", "port": "\(pod.port)"])
        try client.send(Array("old client".utf8), on: data, fin: true)
        XCTAssertTrue(client.pump { client.finished.contains(error) })
        XCTAssertEqual(client.text(data), "old client")
    }

    func testUnknownPodAndUnknownProtocolAreRefusedBeforeTheUpgrade() throws {
        let harness = try PortForwardFixtures.gateway(podPorts: [8080])
        let missing = try SPDYPortForwardClient(port: harness.port, path: "/portForward/default/nope")
        XCTAssertEqual(missing.answer?.status, 404)
        XCTAssertTrue(missing.answer?.body.contains(#"pods \"nope\" not found"#) == true, missing.answer?.body ?? "")
        let wrong = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath,
                                              protocols: ["v4.channel.k8s.io"])
        XCTAssertEqual(wrong.answer?.status, 403)
        XCTAssertTrue(wrong.answer?.head.contains("X-Accepted-Stream-Protocol-Versions: portforward.k8s.io") == true)
    }

    func testABadPortHeaderIsRefusedOnTheErrorStream() throws {
        let harness = try PortForwardFixtures.gateway(podPorts: [8080])
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        let error = try client.session.openStream(headers: ["streamtype": "error", "port": "70000", "requestid": "9"])
        _ = try client.session.openStream(headers: ["streamtype": "data", "port": "70000", "requestid": "9"])
        XCTAssertTrue(client.pump { client.finished.contains(error) })
        XCTAssertEqual(client.text(error), #"unable to parse "70000" as a port: must be a decimal number from 1 to 65535"#)
    }

    func testAnIdleConnectionIsKeptAliveByPings() throws {
        let harness = try PortForwardFixtures.gateway(podPorts: [8080]) { $0.bridge.keepaliveInterval = 0.2 }
        let client = try SPDYPortForwardClient(port: harness.port, path: PortForwardFixtures.kubeletPath)
        XCTAssertEqual(client.answer?.status, 101)
        // A SPDY/3 PING control frame: version 3, type 6, length 4.
        let ping: [UInt8] = [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04]
        XCTAssertTrue(client.pump(timeout: 10) { client.raw.starts(with: ping) })
        XCTAssertFalse(client.closed)
    }
}
