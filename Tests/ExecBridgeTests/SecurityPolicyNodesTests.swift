@testable import ExecBridge
import ExecModel
import XCTest

/// `nodes:` in policy rules: a rule with it covers only requests naming a matching node.
final class SecurityPolicyNodesTests: XCTestCase {
    let policy = """
    rules:
      - users: [alice]
        nodes: ["pool-a-*"]
      - users: [bob]
        namespaces: [default]
    """

    private func path(node: String?) -> String {
        let form = node.map { "/proxy/nodes/\($0)/exec/default/web-1/app" } ?? "/exec/default/web-1/app"
        return SessionCases.path(["sh", "-c", "echo hello"], form: form)
    }

    func testNodeGlobsRestrictAndANodelessRequestMatchesOnlyRulesWithoutNodes() throws {
        let gateway = try SecureGateway(tokens: policyTokens, policy: policy, inventory: policyInventory)
        let alice = [(name: "Authorization", value: "Bearer alice-p0licy-token-1")]
        let bob = [(name: "Authorization", value: "Bearer bob-p0licy-token-2")]
        let cases: [([(name: String, value: String)], String?, Bool)] = [
            (alice, "pool-a-1", true),
            (alice, "pool-b-1", false),
            (alice, nil, false),
            (bob, "pool-b-1", true),
            (bob, nil, true),
        ]
        for wire in SecurityWire.plain {
            for (who, node, allowed) in cases {
                let r = try SecurityRun.run(wire, port: gateway.port, path: path(node: node), headers: who)
                if allowed {
                    XCTAssertEqual(r.status, .success, "\(wire) \(who[0].value) \(node ?? "-")")
                } else {
                    XCTAssertEqual(r.code, 403, "\(wire) \(who[0].value) \(node ?? "-"): \(String(describing: r.status))")
                }
            }
        }
    }

    func testNodesKeyShapeAndErrors() throws {
        let parsed = try AccessPolicy(yaml: "rules:\n  - users: [a]\n    nodes: node-1\n")
        XCTAssertEqual(parsed.rules[0].nodes, [Glob("node-1")])
        XCTAssertNil(try AccessPolicy(yaml: "rules:\n  - users: [a]\n").rules[0].nodes)
        XCTAssertThrowsError(try AccessPolicy(yaml: "rules:\n  - users: [a]\n    nodes: []\n", source: "p.yaml")) { error in
            XCTAssertEqual("\(error)", "policy p.yaml:3 (rules[0].nodes): an empty list matches nothing; leave the key out for \"*\"")
        }
        let identity = Identity(user: "a", uid: nil, groups: [])
        let rule = try AccessPolicy(yaml: "rules:\n  - users: [a]\n    nodes: [\"n-*\"]\n")
        XCTAssertTrue(rule.allows(identity, ExecTarget(node: "n-1", namespace: "x", pod: "p", container: "c")))
        XCTAssertFalse(rule.allows(identity, ExecTarget(node: "m-1", namespace: "x", pod: "p", container: "c")))
        XCTAssertFalse(rule.allows(identity, ExecTarget(node: nil, namespace: "x", pod: "p", container: "c")))
    }
}
