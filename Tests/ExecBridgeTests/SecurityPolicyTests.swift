@testable import ExecBridge
import ExecModel
import XCTest

let policyInventory = """
pods:
  - namespace: team-a
    name: api
    containers: [{name: main}]
  - namespace: default
    name: web-1
    containers: [{name: app}, {name: sidecar}]
  - namespace: other
    name: x
    containers: [{name: y}]

"""

let policyTokens = """
alice-p0licy-token-1,alice,1,
bob-p0licy-token-2,bob,2,ops
carol-p0licy-token-3,carol,3,viewers

"""

/// `--policy`: rules of users/groups → namespace/pod/container globs, the verb `create` on
/// `pods/exec` whatever the HTTP method.
final class SecurityPolicyTests: XCTestCase {
    let policy = """
    rules:
      - users: [alice]
        namespaces: ["team-*"]
      - groups: [ops]
        namespaces: [default]
        pods: ["web-?"]
        containers: [app]
    """

    private func path(_ ns: String, _ pod: String, _ container: String) -> String {
        SecurityPrivilegedTests.path(pod, container, namespace: ns)
    }

    private func token(_ value: String) -> [(name: String, value: String)] { [("Authorization", "Bearer \(value)")] }

    func testRulesGrantWhatTheyNameAndNothingElse() throws {
        let gateway = try SecureGateway(tokens: policyTokens, policy: policy, inventory: policyInventory)
        let alice = token("alice-p0licy-token-1"), bob = token("bob-p0licy-token-2"), carol = token("carol-p0licy-token-3")
        let cases: [([(name: String, value: String)], String, Bool)] = [
            (alice, path("team-a", "api", "main"), true),
            (alice, path("default", "web-1", "app"), false),
            (bob, path("default", "web-1", "app"), true),
            (bob, path("default", "web-1", "sidecar"), false),
            (bob, path("team-a", "api", "main"), false),
            (carol, path("other", "x", "y"), false),
        ]
        for wire in SecurityWire.plain {
            for (who, target, allowed) in cases {
                let r = try SecurityRun.run(wire, port: gateway.port, path: target, headers: who)
                if allowed {
                    XCTAssertEqual(r.status, .success, "\(wire) \(who[0].value) \(target)")
                } else {
                    XCTAssertEqual(r.code, 403, "\(wire) \(who[0].value) \(target): \(String(describing: r.status))")
                }
            }
        }
        let denied = try SecurityRun.run(.spdy, port: gateway.port, path: path("default", "web-1", "app"), headers: alice)
        XCTAssertEqual(denied.message,
                       #"pods "web-1" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "default""#)
    }

    /// GET and POST are the same verb (kubernetes/kubernetes#133515: read-only roles exec'd by GET).
    func testGetAndPostAreTreatedAlike() throws {
        let gateway = try SecureGateway(tokens: policyTokens, policy: policy, inventory: policyInventory)
        for method in ["GET", "POST"] {
            for wire in SecurityWire.plain {
                let denied = try SecurityRun.run(wire, port: gateway.port, path: path("other", "x", "y"), method: method,
                                                 headers: token("carol-p0licy-token-3"))
                XCTAssertEqual(denied.code, 403, "\(method) \(wire)")
                let allowed = try SecurityRun.run(wire, port: gateway.port, path: path("team-a", "api", "main"), method: method,
                                                  headers: token("alice-p0licy-token-1"))
                XCTAssertEqual(allowed.status, .success, "\(method) \(wire)")
            }
        }
        let methods = gateway.auditLines(atLeast: 12).compactMap { $0["method"] as? String }
        XCTAssertEqual(Set(methods), ["GET", "POST"])
    }

    func testAnonymousGetsOnlyWhatRulesGrantItsGroup() throws {
        let open = """
        rules:
          - groups: [system:unauthenticated]
            namespaces: [other]
        """
        let gateway = try SecureGateway(policy: open, inventory: policyInventory)
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, path: path("other", "x", "y")).status, .success)
        let denied = try SecurityRun.run(.h2Prior, port: gateway.port, path: path("team-a", "api", "main"))
        XCTAssertEqual(denied.message,
                       #"pods "api" is forbidden: User "system:anonymous" cannot create resource "pods/exec" in API group "" in the namespace "team-a""#)
    }

    func testWithoutPolicyEveryAuthenticatedCallerMayExec() throws {
        let gateway = try SecureGateway(tokens: policyTokens, inventory: policyInventory)
        for (who, target) in [("carol-p0licy-token-3", path("other", "x", "y")), ("alice-p0licy-token-1", path("default", "web-1", "sidecar"))] {
            XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, path: target, headers: token(who)).status, .success)
        }
    }

    // MARK: Evaluation and parsing

    func testGlobs() {
        let cases: [(String, String, Bool)] = [
            ("*", "", true), ("*", "anything", true), ("team-*", "team-a", true), ("team-*", "team-", true),
            ("team-*", "steam-a", false), ("*-db", "orders-db", true), ("*-db", "orders-db2", false),
            ("a?c", "abc", true), ("a?c", "ac", false), ("a*b*c", "aXbYc", true), ("a*b*c", "aXcYb", false),
            ("web", "web", true), ("web", "web1", false), ("", "", true), ("", "x", false), ("**", "x", true),
            ("a*a*a*a*b", String(repeating: "a", count: 200), false),
        ]
        for (pattern, name, expected) in cases {
            XCTAssertEqual(Glob(pattern).matches(name), expected, "\(pattern) ~ \(name)")
        }
    }

    func testPolicyShapeAndDefaults() throws {
        let parsed = try AccessPolicy(yaml: """
        rules:
          - users: alice
          - groups: [developers, ops]
            namespaces: ["team-*", default]
            containers: [app]
        privileged:
          - {namespace: kube-system}
        """)
        XCTAssertEqual(parsed.rules.count, 2)
        XCTAssertEqual(parsed.rules[0].users, ["alice"])
        XCTAssertEqual(parsed.rules[0].namespaces, [.any])
        XCTAssertEqual(parsed.rules[0].pods, [.any])
        XCTAssertEqual(parsed.rules[1].namespaces, [Glob("team-*"), Glob("default")])
        XCTAssertEqual(parsed.privileged, [AccessPolicy.PrivilegedTarget(namespace: Glob("kube-system"), pod: .any, container: .any)])
        let ops = Identity(user: "x", groups: ["ops"])
        XCTAssertTrue(parsed.allows(ops, ExecTarget(namespace: "team-b", pod: "p", container: "app")))
        XCTAssertFalse(parsed.allows(ops, ExecTarget(namespace: "team-b", pod: "p", container: "db")))
        // Not knowing the container, a container-restricted rule does not apply.
        XCTAssertFalse(parsed.allows(ops, ExecTarget(namespace: "team-b", pod: "p", container: nil)))
        XCTAssertTrue(parsed.allows(Identity(user: "alice", groups: []), ExecTarget(namespace: "n", pod: "p", container: nil)))
        XCTAssertTrue(parsed.namesPrivileged(ExecTarget(namespace: "kube-system", pod: "a", container: "b")))
    }

    func testPolicyErrorsSayWhereAndWhat() {
        let cases: [(String, String)] = [
            ("rules:\n  - users: [a]\n    namespace: [x]\n", #"policy p.yaml:3 (rules[0]): unknown key "namespace""#),
            ("rules:\n  - namespaces: [x]\n", "policy p.yaml:2 (rules[0]): a rule needs \"users\" or \"groups\""),
            ("rules:\n  - users: [a]\n    pods: []\n", "policy p.yaml:3 (rules[0].pods): an empty list matches nothing"),
            ("rule:\n  - users: [a]\n", #"unknown key "rule""#),
            ("", "the document is empty"),
            ("rules: [\n", "not valid YAML"),
            ("privileged:\n  - {namespace: [a]}\n", "(privileged[0].namespace): must be a plain value"),
            ("rules:\n  - users: [\"\"]\n", "(rules[0].users[0]): must be a non-empty name"),
            // Found by Fuzz/FuzzPolicy: deep nesting overflowed the stack inside Yams (a crash at startup).
            ("rules:\n " + String(repeating: "[", count: 100_000), "nested deeper than 256 levels"),
            ("rules:\n" + String(repeating: "- ", count: 100_000) + "x\n", "nested deeper than 256 levels"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try AccessPolicy(yaml: yaml, source: "p.yaml"), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) lacks \(expected)")
            }
        }
    }

    func testAuthorizerEvaluatesCreateOnPodsExecAndAttach() throws {
        let authorizer = Authorizer(policy: try AccessPolicy(yaml: "rules:\n  - users: [alice]\n    namespaces: [a]\n"),
                                    inventory: nil, logger: LogCapture().logger)
        var request = ExecRequest(kind: .attach, target: ExecTarget(namespace: "b", pod: "p", container: "c"), command: [],
                                  stdin: false, stdout: true, stderr: false, tty: false, pathForm: .apiserver, path: "/")
        request.identity = Identity(user: "alice", groups: ["system:authenticated"])
        let error = authorizer.admit(&request, context: SecurityContexts.make())
        XCTAssertEqual(error?.statusJSON,
                       #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"p\" is forbidden: User \"alice\" cannot create resource \"pods/attach\" in API group \"\" in the namespace \"b\"","reason":"Forbidden","code":403}"#)
    }
}
