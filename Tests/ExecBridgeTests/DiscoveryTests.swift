@testable import ExecBridge
import ExecModel
import Reactor
import XCTest

/// What kubectl reads before an exec, answered by a gateway with the local backend.
final class DiscoveryTests: XCTestCase {
    private func gateway(inventory: Inventory? = nil) throws -> GatewayHarness {
        try GatewayHarness(configure: { $0.serveDiscovery() },
                           backend: { _ in LocalBackend(inventory: inventory) })
    }

    private func get(_ harness: GatewayHarness, _ target: String, method: String = "GET")
        -> (status: Int, head: String, body: String, json: JSONValue?) {
        guard let socket = try? RawSocket(port: harness.port) else { XCTFail("connect"); return (0, "", "", nil) }
        socket.send("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(harness.port)\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
        guard let response = socket.readResponse() else { XCTFail("no response"); return (0, "", "", nil) }
        return (response.status, response.head, response.body, try? JSONValue.parse(Array(response.body.utf8)))
    }

    func testVersionAndDiscoveryDocuments() throws {
        let harness = try gateway()
        let version = get(harness, "/version?timeout=5s")
        XCTAssertEqual(version.status, 200)
        XCTAssertEqual(version.json?["major"]?.stringValue, "1")
        XCTAssertEqual(version.json?["gitVersion"]?.stringValue?.hasPrefix("v1."), true)

        let api = get(harness, "/api?timeout=32s")
        XCTAssertEqual(api.status, 200)
        XCTAssertTrue(api.head.lowercased().contains("content-type: application/json\r\n"), api.head)
        XCTAssertEqual(api.body, #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:\#(harness.port)"}]}"#)

        XCTAssertEqual(get(harness, "/apis").body, #"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#)

        let v1 = get(harness, "/api/v1")
        XCTAssertEqual(v1.json?["kind"]?.stringValue, "APIResourceList")
        XCTAssertEqual(v1.json?["groupVersion"]?.stringValue, "v1")
        let names = v1.json?["resources"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(names, ["pods", "pods/attach", "pods/exec", "pods/portforward"])
    }

    func testAnyValidPodWithoutInventoryHasContainerApp() throws {
        let harness = try gateway()
        let pod = get(harness, "/api/v1/namespaces/team-a/pods/whatever")
        XCTAssertEqual(pod.status, 200)
        XCTAssertEqual(pod.json?["kind"]?.stringValue, "Pod")
        XCTAssertEqual(pod.json?["metadata"]?["name"]?.stringValue, "whatever")
        XCTAssertEqual(pod.json?["metadata"]?["namespace"]?.stringValue, "team-a")
        XCTAssertEqual(pod.json?["spec"]?["containers"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["app"])
        XCTAssertEqual(pod.json?["status"]?["phase"]?.stringValue, "Running")
        XCTAssertEqual(pod.json?["status"]?["containerStatuses"]?.arrayValue?.first?["name"]?.stringValue, "app")
        XCTAssertNotNil(pod.json?["status"]?["containerStatuses"]?.arrayValue?.first?["state"]?["running"])
        // Same uid on every read.
        XCTAssertEqual(get(harness, "/api/v1/namespaces/team-a/pods/whatever").json?["metadata"]?["uid"],
                       pod.json?["metadata"]?["uid"])

        let bad = get(harness, "/api/v1/namespaces/default/pods/Not_Valid")
        XCTAssertEqual(bad.status, 404)
        XCTAssertEqual(bad.body, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"Not_Valid\" not found","reason":"NotFound","details":{"name":"Not_Valid","kind":"pods"},"code":404}"#)
        XCTAssertEqual(get(harness, "/api/v1/namespaces/default/pods").json?["items"]?.arrayValue?.count, 0)
    }

    func testInventoryPods() throws {
        let inventory = Inventory(pods: [
            PodSpec(namespace: "default", name: "web", containers: [ContainerSpec(name: "app"),
                                                                    ContainerSpec(name: "side", workingDir: "/srv")]),
            PodSpec(node: "node1", namespace: "prod", name: "api", containers: [ContainerSpec(name: "main", env: ["DB_PASSWORD": "hunter2"])]),
        ])
        let harness = try gateway(inventory: inventory)
        let web = get(harness, "/api/v1/namespaces/default/pods/web")
        XCTAssertEqual(web.json?["spec"]?["containers"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["app", "side"])
        XCTAssertEqual(web.json?["spec"]?["containers"]?.arrayValue?.last?["workingDir"]?.stringValue, "/srv")
        XCTAssertEqual(web.json?["status"]?["containerStatuses"]?.arrayValue?.count, 2)
        let api = get(harness, "/api/v1/namespaces/prod/pods/api")
        XCTAssertEqual(api.json?["spec"]?["nodeName"]?.stringValue, "node1")
        // Environments are where people put secrets: never shown.
        XCTAssertNil(api.json?["spec"]?["containers"]?.arrayValue?.first?["env"])
        XCTAssertEqual(api.json?["spec"]?["containers"]?.arrayValue?.first?["name"]?.stringValue, "main")

        let missing = get(harness, "/api/v1/namespaces/default/pods/api")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.json?["message"]?.stringValue, #"pods "api" not found"#)
        XCTAssertEqual(missing.json?["reason"]?.stringValue, "NotFound")

        let all = get(harness, "/api/v1/pods")
        XCTAssertEqual(all.json?["kind"]?.stringValue, "PodList")
        XCTAssertEqual(all.json?["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue }, ["web", "api"])
        let prod = get(harness, "/api/v1/namespaces/prod/pods")
        XCTAssertEqual(prod.json?["items"]?.arrayValue?.count, 1)
        for body in [api.body, all.body, prod.body] { XCTAssertFalse(body.contains("hunter2"), body) }
    }

    func testMethodsAndUnknownPaths() throws {
        let harness = try gateway()
        let post = get(harness, "/api/v1/namespaces/default/pods/web", method: "POST")
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.json?["reason"]?.stringValue, "MethodNotAllowed")
        XCTAssertEqual(get(harness, "/apis/apps/v1").status, 404)
        XCTAssertEqual(get(harness, "/openapi/v2").status, 404)
        XCTAssertEqual(get(harness, "/healthz").status, 200, "health still answers")
    }

    /// With any other backend (an upstream), discovery is the upstream's: nothing is installed.
    func testOnlyForTheLocalBackend() throws {
        let harness = try GatewayHarness(configure: { $0.serveDiscovery() }, backend: { _ in RefusingBackend() })
        XCTAssertEqual(get(harness, "/api").status, 404)
        XCTAssertEqual(get(harness, "/api/v1/namespaces/default/pods/web").status, 404)
    }

    func testWithoutTheExtensionNothingIsServed() throws {
        let harness = try GatewayHarness()
        XCTAssertEqual(get(harness, "/api").status, 404)
    }
}

/// A backend that is not the local one.
private final class RefusingBackend: Backend {
    func check(_ request: ExecRequest) -> RequestError? { .forbidden("no") }
    func startSession(_ request: ExecRequest, on loop: EventLoop, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        fatalError("never started")
    }
}
