@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// Port-forward is `create pods/portforward`: a pod with a privileged container is reserved to
/// cluster admins, on every generation, before anything is connected.
final class PortForwardAuthorizationTests: XCTestCase {
    private let tokens = """
    alice-t0ken-0000000001,alice,1001,developers
    root-t0ken-0000000002,root,0,system:masters

    """

    func testAPodWithAPrivilegedContainerIsForAdminsOnly() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let gateway = try SecureGateway(tokens: tokens, inventory: PortForwardFixtures.inventory(podPorts: [pod.port], privileged: true),
                                        allowAnonymous: true)
        let expected = #"pods \"web\" is forbidden: User \"alice\" cannot create resource \"pods/portforward\" in API group \"\" in the namespace \"default\": the pod has a privileged container"#
        // SPDY: refused before the upgrade.
        let spdy = try SPDYPortForwardClient(port: gateway.port, path: PortForwardFixtures.kubeletPath,
                                             extraHeaders: "Authorization: Bearer alice-t0ken-0000000001\r\n")
        XCTAssertEqual(spdy.answer?.status, 403)
        XCTAssertTrue(spdy.answer?.body.contains(expected) == true, spdy.answer?.body ?? "")
        // WebSocket, likewise.
        let ws = try TestWebSocketClient(port: gateway.port, path: PortForwardFixtures.apiserverPath + "?ports=\(pod.port)",
                                         protocols: ["v4.channel.k8s.io"])
        XCTAssertEqual(ws.answer?.status, 403)
        // HTTP/2: the error stream's answer.
        let client = try H2MuxClient(port: gateway.port)
        defer { client.close() }
        let refused = try client.open(client.portForwardHeaders(PortForwardFixtures.kubeletPath, type: "error",
                                                                port: pod.port, requestID: "1")
                                      + [("authorization", "Bearer alice-t0ken-0000000001")])
        XCTAssertTrue(client.run { client[refused].ended })
        XCTAssertEqual(client[refused].status, 403)
        XCTAssertTrue(client[refused].text.contains(expected), client[refused].text)
        XCTAssertEqual(pod.connections, 0)
        // An admin gets through.
        let admin = try SPDYPortForwardClient(port: gateway.port, path: PortForwardFixtures.kubeletPath,
                                              extraHeaders: "Authorization: Bearer root-t0ken-0000000002\r\n")
        XCTAssertEqual(admin.answer?.status, 101)
        let tunnel = try admin.open(port: pod.port, requestID: "1")
        try admin.send(Array("admin".utf8), on: tunnel.data, fin: true)
        XCTAssertTrue(admin.pump { admin.ended(tunnel) })
        XCTAssertEqual(admin.text(tunnel.data), "admin")
        // Every tunnel and refusal is audited as portforward.
        var audit = ""
        let deadline = Date().addingTimeInterval(10)
        while !audit.contains(#""event":"session""#), Date() < deadline {
            audit = (try? String(contentsOfFile: gateway.auditPath, encoding: .utf8)) ?? ""
            usleep(20_000)
        }
        XCTAssertTrue(audit.contains(#""kind":"portforward""#), audit)
        // The tunnel's port is in its target; port-forward has no channel version to name.
        XCTAssertTrue(audit.contains(#""pod":"web","container":null,"port":\#(pod.port)}"#), audit)
        XCTAssertTrue(audit.contains(#""client":{"generation":"SPDY/3.1","version":null,"offered":["portforward.k8s.io"]}"#), audit)
    }
}
