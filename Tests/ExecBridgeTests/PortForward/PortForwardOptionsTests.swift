@testable import ExecBridge
import ExecModel
import XCTest

/// `execbridge port-forward` arguments (kubectl's shapes) and the upstream port-forward paths.
final class PortForwardOptionsTests: XCTestCase {
    private let url = "http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/portforward"

    func testPortPairsInKubectlsForms() throws {
        XCTAssertEqual(try PortForwardCLIOptions.parsePair("8080"), .init(local: 8080, remote: 8080))
        XCTAssertEqual(try PortForwardCLIOptions.parsePair("18080:8080"), .init(local: 18080, remote: 8080))
        XCTAssertEqual(try PortForwardCLIOptions.parsePair(":8080"), .init(local: 0, remote: 8080))
        for bad in ["0", "8080:", "65536", "1:2:3", "x", "-1", "", "١٢"] {
            XCTAssertThrowsError(try PortForwardCLIOptions.parsePair(bad), bad)
        }
    }

    func testResolveChecksTheURLPortsAndAddresses() throws {
        var options = PortForwardCLIOptions(url: url + "?ports=1", ports: ["8080", ":9090"])
        options.connection.token = "abc"
        options.addresses = ["localhost"]
        let resolved = try options.resolve()
        XCTAssertEqual(resolved.client.path, "/api/v1/namespaces/default/pods/web/portforward")
        XCTAssertEqual(resolved.client.authority, "127.0.0.1:8080")
        XCTAssertEqual(resolved.listenHosts, ["127.0.0.1", "::1"])
        XCTAssertEqual(resolved.pairs.map(\.remote), [8080, 9090])
        XCTAssertTrue(resolved.client.headers.contains { $0.name == "Authorization" && $0.value == "Bearer abc" })

        XCTAssertThrowsError(try PortForwardCLIOptions(url: url, ports: []).resolve())
        XCTAssertThrowsError(try PortForwardCLIOptions(url: "http://h/api/v1/namespaces/d/pods/p/exec", ports: ["1"]).resolve())
        var badAddress = PortForwardCLIOptions(url: url, ports: ["1"])
        badAddress.addresses = ["example.com"]
        XCTAssertThrowsError(try badAddress.resolve())
        var upgradeOverTLS = PortForwardCLIOptions(url: "https://h/portForward/d/p", ports: ["1"])
        upgradeOverTLS.wireProtocol = .h2cUpgrade
        XCTAssertThrowsError(try upgradeOverTLS.resolve())
        XCTAssertNoThrow(try PortForwardCLIOptions(url: "http://h/portForward/d/p/uid-1", ports: ["1"]).resolve())
    }

    func testWebSocketPathsAskForTheirPort() {
        XCTAssertEqual(PortForwardPath.withPorts("/portForward/ns/p", [8080]), "/portForward/ns/p?ports=8080")
        XCTAssertEqual(PortForwardPath.withPorts("/a/portforward?x=1&ports=9", [1, 2]), "/a/portforward?x=1&ports=1&ports=2")
    }

    func testUpstreamPortForwardPathsFollowTheExecTemplate() throws {
        var request = ExecRequest(kind: .portForward, target: ExecTarget(node: "n 1", namespace: "ns", pod: "web", container: nil,
                                                                          podUID: "u-1"),
                                  command: [], stdin: false, stdout: false, stderr: false, tty: false,
                                  pathForm: .apiserver, path: "/api/v1/namespaces/ns/pods/web/portforward")
        request.ports = [8080]
        let cases = [
            (UpstreamPathTemplate.kubelet, "/portForward/ns/web?ports=8080"),
            (UpstreamPathTemplate.apiserver, "/api/v1/namespaces/ns/pods/web/portforward?ports=8080"),
            (UpstreamPathTemplate.nodeProxy, "/api/v1/nodes/n%201/proxy/portForward/ns/web?ports=8080"),
            ("/exec/{namespace}/{pod}/{uid}/{container}", "/portForward/ns/web/u-1?ports=8080"),
        ]
        for (template, expected) in cases {
            let parsed = try UpstreamPathTemplate(template)
            XCTAssertNil(parsed.checkPortForward(request), template)
            XCTAssertEqual(parsed.expandPortForward(request), expected, template)
        }
        request.target.node = nil
        XCTAssertNotNil(try UpstreamPathTemplate(UpstreamPathTemplate.nodeProxy).checkPortForward(request))
    }
}
