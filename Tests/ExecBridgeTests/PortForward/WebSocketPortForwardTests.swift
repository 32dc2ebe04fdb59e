@testable import ExecBridge
import ExecModel
import Glibc
import XCTest

/// kubelet's WebSocket port-forward (`v4.channel.k8s.io`, what the Python kubernetes client
/// speaks) and kubectl 1.31+'s WebSocket tunnel (`SPDY/3.1+portforward.k8s.io`), end to end.
final class WebSocketPortForwardTests: XCTestCase {
    private func path(_ ports: [UInt16]) -> String {
        PortForwardFixtures.apiserverPath + "?" + ports.map { "ports=\($0)" }.joined(separator: "&")
    }

    func testChannelsCarryThePortPrefixThenBytesAndErrors() throws {
        let echo = try PodPortServer(serve: PodPortServer.echo)
        let refused = closedPort()
        let harness = try PortForwardFixtures.gateway(podPorts: [echo.port, refused])
        let client = try TestWebSocketClient(port: harness.port, path: path([echo.port, refused]),
                                             protocols: ["v4.channel.k8s.io"])
        XCTAssertEqual(client.answer?.status, 101)
        XCTAssertTrue(client.echoed("v4.channel.k8s.io"))
        // Every channel opens with its port, 2 bytes little-endian.
        XCTAssertTrue(client.pump { client.messages.count >= 4 })
        XCTAssertEqual(Array(client.messages.prefix(4)), [
            [0] + PortForwardPorts.webSocketPrefix(echo.port), [1] + PortForwardPorts.webSocketPrefix(echo.port),
            [2] + PortForwardPorts.webSocketPrefix(refused), [3] + PortForwardPorts.webSocketPrefix(refused),
        ])
        client.send(channel: 0, Array("hello".utf8))
        XCTAssertTrue(client.pump { client.payload(0).count >= 7 && client.payload(3).count > 2 })
        XCTAssertEqual(Array(client.payload(0).dropFirst(2)), Array("hello".utf8))
        XCTAssertEqual(String(decoding: client.payload(3).dropFirst(2), as: UTF8.self),
                       "error forwarding port \(refused) to pod default/web: dial tcp4 127.0.0.1:\(refused): connect: connection refused")
        XCTAssertEqual(client.payload(1).count, 2, "the working port's error channel carried more than its prefix")
    }

    func testAPodThatClosesEndsItsTunnelAndTheLastEndClosesTheWebSocket() throws {
        let body = PortForwardFixtures.random(1 << 20)
        let pod = try PodPortServer(serve: PodPortServer.sending(body))
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let client = try TestWebSocketClient(port: harness.port, path: path([pod.port]), protocols: [])
        XCTAssertEqual(client.answer?.status, 101)
        XCTAssertTrue(client.pump { client.closeReceived })
        XCTAssertTrue(Array(client.payload(0).dropFirst(2)) == body, "the bytes came back changed")
        XCTAssertEqual(client.payload(1), PortForwardPorts.webSocketPrefix(pod.port))
    }

    func testUnlistedPortAndRefusalsBeforeTheUpgrade() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [closedPort()])
        let client = try TestWebSocketClient(port: harness.port, path: path([pod.port]), protocols: ["v4.channel.k8s.io"])
        XCTAssertTrue(client.pump { client.payload(1).count > 2 })
        XCTAssertEqual(String(decoding: client.payload(1).dropFirst(2), as: UTF8.self),
                       "error forwarding port \(pod.port) to pod default/web: port not listed in the inventory")
        XCTAssertEqual(pod.connections, 0)

        let noPorts = try TestWebSocketClient(port: harness.port, path: PortForwardFixtures.apiserverPath,
                                              protocols: ["v4.channel.k8s.io"])
        XCTAssertEqual(noPorts.answer?.status, 400)
        XCTAssertTrue(noPorts.answer?.body.contains(#"query parameter \"port\" is required"#) == true, noPorts.answer?.body ?? "")
        let wrong = try TestWebSocketClient(port: harness.port, path: path([80]), protocols: ["v5.channel.k8s.io"])
        XCTAssertEqual(wrong.answer?.status, 403)
    }

    func testBase64Variant() throws {
        let body = Array("over base64".utf8)
        let pod = try PodPortServer(serve: PodPortServer.sending(body))
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let client = try TestWebSocketClient(port: harness.port, path: path([pod.port]),
                                             protocols: ["v4.base64.channel.k8s.io"])
        XCTAssertTrue(client.echoed("v4.base64.channel.k8s.io"))
        XCTAssertTrue(client.pump { client.closeReceived })
        let text = client.messages.filter { $0.first == UInt8(ascii: "0") }
            .compactMap { Data(base64Encoded: Data($0.dropFirst())) }.reduce(Data(), +)
        XCTAssertEqual(Array(text), PortForwardPorts.webSocketPrefix(pod.port) + body)
    }

    func testTheSPDYTunnelCarriesTunnelsLikeSPDY() throws {
        let echo = try PodPortServer(serve: PodPortServer.echo)
        let refused = closedPort()
        let harness = try PortForwardFixtures.gateway(podPorts: [echo.port, refused])
        let client = try SPDYPortForwardClient(tunnelOn: harness.port, path: PortForwardFixtures.apiserverPath)
        XCTAssertEqual(client.answer?.status, 101)
        XCTAssertTrue(client.answer?.head.contains("SPDY/3.1+portforward.k8s.io") == true)
        let failed = try client.open(port: refused, requestID: "0")
        XCTAssertTrue(client.pump { client.ended(failed) })
        XCTAssertTrue(client.text(failed.error).hasSuffix("connect: connection refused"), client.text(failed.error))
        let tunnel = try client.open(port: echo.port, requestID: "1")
        let payload = PortForwardFixtures.random(512 << 10)
        try client.send(payload, on: tunnel.data, fin: true)
        XCTAssertTrue(client.pump { client.finished.contains(tunnel.data) && client.ended(tunnel) })
        XCTAssertTrue(client.received[tunnel.data] == payload, "the bytes came back changed")
        XCTAssertEqual(client.text(tunnel.error), "")
    }

    func testATunnelOfferNotAcceptedIsANon101SoKubectlFallsBack() throws {
        let harness = try PortForwardFixtures.gateway(podPorts: [8080])
        let client = try TestWebSocketClient(port: harness.port, path: PortForwardFixtures.apiserverPath,
                                             protocols: ["SPDY/3.1+portforward.k8s.io.v2"])
        XCTAssertEqual(client.answer?.status, 403)
    }
}
