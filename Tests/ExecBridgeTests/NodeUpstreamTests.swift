import Foundation
@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// Stand-in kubelets: in-process gateways on the local backend, each on its own loopback address
/// (all of 127/8 is loopback on Linux) and the same port, each saying who it is through its
/// containers' environment (`NODE_ID`).
final class NodeKubelets {
    let port: UInt16
    private(set) var kubelets: [String: GatewayHarness] = [:]

    /// `hosts`: loopback address → identity. `tls`: the test certificate (DNS:localhost, IP:127.0.0.1).
    init(_ hosts: [(address: String, id: String)], tls: Bool = false) throws {
        let context = tls ? try TestCertificate.shared() : nil
        let serving = try context.map { try TLSContext(certificate: $0.cert, key: $0.key) }
        var lastError: Error?
        for _ in 0..<5 {
            let port = closedPort()
            do {
                var started: [String: GatewayHarness] = [:]
                for host in hosts {
                    let inventory = Inventory(pods: [PodSpec(namespace: "default", name: "web", containers: [
                        ContainerSpec(name: "app", env: ["NODE_ID": host.id])])])
                    started[host.address] = try GatewayHarness(grace: 0.5, configure: { config in
                                                                   config.listen = ["\(host.address):\(port)"]
                                                                   config.tls = serving
                                                               },
                                                               backend: { _ in LocalBackend(inventory: inventory, graceSeconds: 0.5) })
                }
                self.port = port
                kubelets = started
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? POSIXError(.EADDRINUSE)
    }
}

/// A gateway whose `--backend` host is `{node}`, with `--node-addresses` in a file of its own.
final class NodeGateway {
    let dir: String
    let harness: GatewayHarness
    var port: UInt16 { harness.port }
    var file: String { dir + "/nodes.yaml" }

    init(_ backend: String, nodes: String?, settings: (inout BackendSettings) -> Void = { _ in }) throws {
        dir = NSTemporaryDirectory() + "execbridge-nodes-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var chosen = BackendSettings()
        chosen.backend = backend
        if let nodes {
            try nodes.write(toFile: dir + "/nodes.yaml", atomically: true, encoding: .utf8)
            chosen.nodeAddresses = dir + "/nodes.yaml"
        }
        settings(&chosen)
        let final = chosen
        var failure: Error?
        harness = try GatewayHarness(configure: { config in
            do { try BackendFactory.install(final, into: &config, logger: config.logger) } catch { failure = error }
        })
        if let failure { throw failure }
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ nodes: String) throws {
        // Renamed over the old file, as config management does.
        try nodes.write(toFile: file, atomically: true, encoding: .utf8)
    }
}

final class NodeUpstreamTests: XCTestCase {
    static func path(node: String, form: String = "api") -> String {
        let prefix = form == "api" ? "/api/v1/nodes/\(node)/proxy/exec" : "/proxy/\(form)/\(node)/exec"
        return SessionCases.path(["sh", "-c", "echo $NODE_ID"], form: "\(prefix)/default/web/app")
    }

    private func whoAnswers(_ gateway: NodeGateway, node: String, wire: ExecRun.Wire = .spdy, form: String = "api",
                            file: StaticString = #filePath, line: UInt = #line) -> ExecRun {
        ExecRun().run(wire, port: gateway.port, path: Self.path(node: node, form: form), timeout: 20, file: file, line: line)
    }

    func testEachSessionReachesItsNodeInEveryForm() throws {
        let kubelets = try NodeKubelets([("127.0.0.2", "kubelet-a"), ("127.0.0.3", "kubelet-b")])
        for scheme in ["spdy", "h2c", "ws"] {
            let gateway = try NodeGateway("\(scheme)://{node}:\(kubelets.port)",
                                          nodes: "node-a: 127.0.0.2\nnode-b: 127.0.0.3\n")
            for round in 0..<2 {
                for (node, form, id) in [("node-a", "api", "kubelet-a"), ("node-b", "nodes", "kubelet-b"),
                                         ("node-a", "minions", "kubelet-a"), ("node-b", "api", "kubelet-b")] {
                    let r = whoAnswers(gateway, node: node, form: form)
                    XCTAssertEqual(r.stdoutText, "\(id)\n", "\(scheme) round \(round) \(node) via \(form)")
                    XCTAssertEqual(r.status, .success, "\(scheme) \(node)")
                }
            }
        }
    }

    func testPooledSessionsShareOneConnectionPerNodeAndOnlySeenNodesAreDialled() throws {
        let kubelets = try NodeKubelets([("127.0.0.2", "kubelet-a"), ("127.0.0.3", "kubelet-b")])
        let gateway = try NodeGateway("h2c://{node}:\(kubelets.port)", nodes: "node-a: 127.0.0.2\nnode-b: 127.0.0.3\n")
        func accepted(_ address: String) -> Int { kubelets.kubelets[address]!.gateway.acceptedPerLoop.reduce(0, +) }
        for _ in 0..<3 { XCTAssertEqual(whoAnswers(gateway, node: "node-a", wire: .h2Prior).stdoutText, "kubelet-a\n") }
        XCTAssertEqual(accepted("127.0.0.2"), 1, "node-a's sessions share its pooled connection")
        XCTAssertEqual(accepted("127.0.0.3"), 0, "node-b was dialled before any session asked for it")
        for _ in 0..<3 { XCTAssertEqual(whoAnswers(gateway, node: "node-b").stdoutText, "kubelet-b\n") }
        XCTAssertEqual(accepted("127.0.0.3"), 1)
        XCTAssertEqual(accepted("127.0.0.2"), 1)
    }

    func testNodePoolsAreBoundedAndIdleOnesClose() throws {
        let loop = EventLoop()
        var settings = BackendSettings()
        settings.backend = "h2c://{node}:\(closedPort())"
        var config = try UpstreamConfig(settings)
        config.poolIdleTimeout = 0.2
        let pools = NodePools(loop: loop, logger: .init(label: "test"), limit: 2)
        func aimed(_ node: String) throws -> UpstreamConfig {
            guard case .found(let endpoint) = NodeDirectory.endpoint(node: node, host: "127.0.0.9", port: nil) else { throw POSIXError(.EINVAL) }
            return config.addressed(to: endpoint)
        }
        let a = try XCTUnwrap(pools.pool(for: try aimed("node-a"), node: "node-a"))
        XCTAssertTrue(pools.pool(for: try aimed("node-a"), node: "node-a") === a, "one pool per node")
        _ = pools.pool(for: try aimed("node-b"), node: "node-b")
        XCTAssertEqual(pools.count, 2)
        // At the limit, pools without sessions make room.
        XCTAssertNotNil(pools.pool(for: try aimed("node-c"), node: "node-c"))
        XCTAssertLessThanOrEqual(pools.count, 2)
        let deadline = EventLoop.now() + 10
        while pools.count > 0, EventLoop.now() < deadline {
            let tick = LoopTimer(loop: loop, after: 0.05) {}
            loop.runOnce()
            tick.cancel()
        }
        XCTAssertEqual(pools.count, 0, "idle node pools were not closed")
        pools.close()
    }

    func testTLSChecksTheNodesAddressOrTheServerNameGiven() throws {
        let kubelets = try NodeKubelets([("127.0.0.1", "kubelet-1"), ("127.0.0.2", "kubelet-2")], tls: true)
        let ca = try TestCertificate.shared().cert
        let nodes = "node-one: 127.0.0.1\nnode-two: 127.0.0.2\n"
        let gateway = try NodeGateway("spdys://{node}:\(kubelets.port)", nodes: nodes) { $0.caFile = ca }
        // The certificate carries IP:127.0.0.1, not 127.0.0.2: each node is checked against its own address.
        XCTAssertEqual(whoAnswers(gateway, node: "node-one").stdoutText, "kubelet-1\n")
        let refused = whoAnswers(gateway, node: "node-two")
        guard case .failure(let message, _, let code)? = refused.status else { return XCTFail("\(String(describing: refused.status))") }
        XCTAssertEqual(code, 503)
        XCTAssertTrue(message.hasPrefix("error dialing backend: tls: handshake with 127.0.0.2:\(kubelets.port) failed"), message)
        // --backend-server-name holds for every node.
        let named = try NodeGateway("spdys://{node}:\(kubelets.port)", nodes: nodes) { $0.caFile = ca; $0.serverName = "localhost" }
        XCTAssertEqual(whoAnswers(named, node: "node-two").stdoutText, "kubelet-2\n")
    }

    func testUnknownNodeIsA404BeforeAnyUpgrade() throws {
        let kubelets = try NodeKubelets([("127.0.0.2", "kubelet-a")])
        let gateway = try NodeGateway("spdy://{node}:\(kubelets.port)", nodes: "node-a: 127.0.0.2\n")
        let socket = try RawSocket(port: gateway.port)
        socket.send("POST \(Self.path(node: "node-x")) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
        let answer = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(answer.status, 404)
        XCTAssertTrue(answer.body.contains(#""message":"nodes \"node-x\" not found""#), answer.body)
        XCTAssertTrue(answer.body.contains(#""reason":"NotFound""#), answer.body)
        // Over HTTP/2 and WebSocket too, as the client sees it.
        for wire in [ExecRun.Wire.h2Prior, .ws([.v5, .v4])] {
            let r = whoAnswers(gateway, node: "node-x", wire: wire)
            guard case .failure(let message, _, let code)? = r.status else { return XCTFail("\(wire): \(String(describing: r.status))") }
            XCTAssertEqual(code, 404, "\(wire)")
            XCTAssertEqual(message, #"nodes "node-x" not found"#)
        }
        // A form without a node cannot say where to go.
        let kubeletForm = ExecRun().run(.spdy, port: gateway.port, path: SessionCases.path(["true"], form: "/exec/default/web/app"))
        guard case .failure(let message, _, let code)? = kubeletForm.status else { return XCTFail("\(String(describing: kubeletForm.status))") }
        XCTAssertEqual(code, 400)
        XCTAssertTrue(message.contains("names none"), message)
        // The known node still works.
        XCTAssertEqual(whoAnswers(gateway, node: "node-a").stdoutText, "kubelet-a\n")
    }

    func testAChangedFileMovesNewSessionsAndABadOneKeepsTheMap() throws {
        let kubelets = try NodeKubelets([("127.0.0.2", "kubelet-a"), ("127.0.0.3", "kubelet-b")])
        let gateway = try NodeGateway("h2c://{node}:\(kubelets.port)", nodes: "node-a: 127.0.0.2\n")
        XCTAssertEqual(whoAnswers(gateway, node: "node-a", wire: .spdy).stdoutText, "kubelet-a\n")
        XCTAssertEqual(Self.code(whoAnswers(gateway, node: "node-c").status), 404)

        try gateway.write("node-a: 127.0.0.3\nnode-c: 127.0.0.2\n")
        XCTAssertTrue(poll { self.whoAnswers(gateway, node: "node-a").stdoutText == "kubelet-b\n" }, "node-a never moved")
        XCTAssertEqual(whoAnswers(gateway, node: "node-c").stdoutText, "kubelet-a\n")

        // Half-written: the previous map stays.
        try gateway.write("node-a: 127.0.0.2\nnode-c: [not an address\n")
        Thread.sleep(forTimeInterval: 1.5)
        for _ in 0..<3 { XCTAssertEqual(whoAnswers(gateway, node: "node-a").stdoutText, "kubelet-b\n") }
    }

    func testSIGHUPSnapshotCarriesTheMapAndABadFileIsRefusedWithItsLine() throws {
        let dir = NSTemporaryDirectory() + "execbridge-nodes-\(getpid())-snap"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files = ReloadableFiles()
        files.nodeAddresses = dir + "/nodes.yaml"
        try "node-a: 127.0.0.2:10250\n".write(toFile: dir + "/nodes.yaml", atomically: true, encoding: .utf8)
        let snapshot = try ConfigSnapshot.load(files, generation: 1)
        guard case .found(let endpoint)? = snapshot.nodeAddresses?.map["node-a"] else { return XCTFail("no node-a") }
        XCTAssertEqual(endpoint.host, "127.0.0.2")
        XCTAssertEqual(endpoint.port, 10250)
        try "node-a: 127.0.0.2\nNode_B: 127.0.0.3\n".write(toFile: dir + "/nodes.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigSnapshot.load(files, generation: 2)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--node-addresses: node addresses \(dir)/nodes.yaml:2: node name \"Node_B\""), "\(error)")
        }
    }

    func testDNSModeResolvesNamesOffTheLoopAndUnknownNamesAre404() throws {
        let kubelets = try NodeKubelets([("127.0.0.2", "kubelet-a")])
        // No file: names are resolved (a numeric name resolves to itself; .invalid never does).
        let gateway = try NodeGateway("spdy://{node}:\(kubelets.port)", nodes: nil)
        XCTAssertEqual(whoAnswers(gateway, node: "127.0.0.2").stdoutText, "kubelet-a\n")
        XCTAssertEqual(whoAnswers(gateway, node: "127.0.0.2", wire: .h2Prior).stdoutText, "kubelet-a\n")
        for _ in 0..<2 {
            let r = whoAnswers(gateway, node: "no-such-node.invalid")
            guard case .failure(let message, _, let code)? = r.status else { return XCTFail("\(String(describing: r.status))") }
            XCTAssertEqual(code, 404)
            XCTAssertEqual(message, #"nodes "no-such-node.invalid" not found"#)
        }
    }

    func testNodeBackendsRefuseWhatCannotWork() {
        XCTAssertThrowsError(try UpstreamURL(parsing: "spdy://{node}{node}:1")) { XCTAssertTrue("\($0)".contains("{node} once"), "\($0)") }
        XCTAssertThrowsError(try UpstreamURL(parsing: "spdy://{pod}:1"))
        XCTAssertTrue(try UpstreamURL(parsing: "spdys://{node}.nodes.internal:10250").isNodeAddressed)
        var settings = BackendSettings()
        settings.backend = "spdy://127.0.0.1:1"
        settings.nodeAddresses = "/nonexistent"
        XCTAssertThrowsError(try UpstreamConfig(settings)) { XCTAssertTrue("\($0)".contains("{node}"), "\($0)") }
        settings.backend = "spdy://{node}:1"
        XCTAssertThrowsError(try UpstreamConfig(settings)) { XCTAssertTrue("\($0)".hasPrefix("--node-addresses: "), "\($0)") }
        settings.nodeAddresses = nil
        settings.passthrough = true
        XCTAssertThrowsError(try UpstreamConfig(settings)) { XCTAssertTrue("\($0)".contains("--passthrough"), "\($0)") }
        settings.passthrough = nil
        XCTAssertEqual(try UpstreamConfig(settings).passthrough, false)
    }

    func testNodeAddressesFileShapeAndErrors() throws {
        let good = try NodeAddresses(yaml: """
        node-a: 10.0.0.5
        node-b: Kubelet-B.internal:10255
        node-c: "[fd00::7]:10250"
        node-d: fd00::8
        """)
        XCTAssertEqual(good.entries["node-a"], .init(host: "10.0.0.5", port: nil, line: 1))
        XCTAssertEqual(good.entries["node-b"], .init(host: "kubelet-b.internal", port: 10255, line: 2))
        XCTAssertEqual(good.entries["node-c"], .init(host: "fd00::7", port: 10250, line: 3))
        XCTAssertEqual(good.entries["node-d"], .init(host: "fd00::8", port: nil, line: 4))
        XCTAssertEqual(try NodeAddresses(yaml: "").entries.count, 0)
        let cases: [(String, String)] = [
            ("- a\n", "must be a mapping"),
            ("a: 1.2.3.4\na: 1.2.3.5\n", "f:2: node \"a\" appears twice"),
            ("a: [x]\n", "f:1: node \"a\": the address must be a plain value"),
            ("a: 1.2.3.4:0\n", "port \"0\""),
            ("a: 1.2.3.4:99999\n", "port \"99999\""),
            ("a: \"host/evil\"\n", "host \"host/evil\""),
            ("a: \"x y\"\n", "is not an address"),
            ("a: \"[1.2.3.4]:1\"\n", "only an IPv6 address goes in brackets"),
            ("a: \"\"\n", "the address is empty"),
            ("\(String(repeating: "n", count: 254)): 1.2.3.4\n", "must be no more than 253 characters"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try NodeAddresses(yaml: yaml, source: "f"), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml): \(error)")
            }
        }
    }

    static func code(_ status: ExecStatus?) -> Int? {
        if case .failure(_, _, let code)? = status { return code }
        return nil
    }

    /// True once `condition` holds, trying for up to `seconds`.
    private func poll(seconds: Double = 15, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }
}
