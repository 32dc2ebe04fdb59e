@testable import ExecBridge
import ExecModel
import XCTest

let privilegedInventory = """
pods:
  - namespace: default
    name: web
    containers:
      - name: app
      - name: debug
        privileged: true
  - namespace: default
    name: solo
    containers:
      - name: shell
        privileged: true
  - namespace: kube-system
    name: proxy
    containers:
      - name: main

"""

let adminTokens = """
alice-t0ken-0000000001,alice,1001,developers
root-t0ken-0000000002,root,0,system:masters
ops-t0ken-0000000003,olga,1003,"ops,cluster-admin"

"""

/// Exec into privileged containers is reserved to cluster admins (`cluster-admin`,
/// `system:masters`), whatever the rules say: on local targets (`privileged: true` in the
/// inventory) and on targets the policy names privileged (upstream backends have no inventory).
final class SecurityPrivilegedTests: XCTestCase {
    static func path(_ pod: String, _ container: String?, namespace: String = "default") -> String {
        if let container {
            return SessionCases.path(["sh", "-c", "echo hello"], form: "/proxy/nodes/n1/exec/\(namespace)/\(pod)/\(container)")
        }
        return "/api/v1/namespaces/\(namespace)/pods/\(pod)/exec?command=sh&command=-c&command=echo%20hello&stdout=true"
    }

    private func token(_ value: String) -> [(name: String, value: String)] { [("Authorization", "Bearer \(value)")] }

    func testLocalPrivilegedContainerOnlyForAdminsOnEveryGeneration() throws {
        let gateway = try SecureGateway(tokens: adminTokens, inventory: privilegedInventory, allowAnonymous: true)
        let debug = Self.path("web", "debug")
        for wire in SecurityWire.plain {
            XCTAssertEqual(try SecurityRun.run(wire, port: gateway.port, path: debug, headers: token("root-t0ken-0000000002")).status,
                           .success, "\(wire) root")
            XCTAssertEqual(try SecurityRun.run(wire, port: gateway.port, path: debug, headers: token("ops-t0ken-0000000003")).status,
                           .success, "\(wire) cluster-admin")
            let alice = try SecurityRun.run(wire, port: gateway.port, path: debug, headers: token("alice-t0ken-0000000001"))
            XCTAssertEqual(alice.code, 403, "\(wire) alice")
            XCTAssertEqual(alice.message,
                           #"pods "web" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "default": container "debug" is privileged: exec into privileged containers is reserved to members of cluster-admin or system:masters"#)
            XCTAssertEqual(alice.stdout, [])
            let anonymous = try SecurityRun.run(wire, port: gateway.port, path: debug)
            XCTAssertEqual(anonymous.code, 403, "\(wire) anonymous")
            XCTAssertTrue(anonymous.message.hasPrefix(#"pods "web" is forbidden: User "system:anonymous" cannot create"#), anonymous.message)
            // The pod's other container is not privileged.
            XCTAssertEqual(try SecurityRun.run(wire, port: gateway.port, path: Self.path("web", "app"),
                                               headers: token("alice-t0ken-0000000001")).status, .success, "\(wire)")
        }
    }

    func testOmittedContainerResolvesToThePrivilegedOne() throws {
        let gateway = try SecureGateway(tokens: adminTokens, inventory: privilegedInventory)
        let solo = Self.path("solo", nil)
        let alice = try SecurityRun.run(.spdy, port: gateway.port, path: solo, headers: token("alice-t0ken-0000000001"))
        XCTAssertEqual(alice.code, 403)
        XCTAssertTrue(alice.message.hasSuffix(#"container "shell" is privileged: exec into privileged containers is reserved to members of cluster-admin or system:masters"#), alice.message)
        XCTAssertEqual(try SecurityRun.run(.h2Prior, port: gateway.port, path: solo, headers: token("root-t0ken-0000000002")).status, .success)
    }

    func testRulesCannotGrantPrivilegedContainers() throws {
        let policy = """
        rules:
          - users: [alice]
            namespaces: ["*"]
        """
        let gateway = try SecureGateway(tokens: adminTokens, policy: policy, inventory: privilegedInventory)
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, path: Self.path("web", "debug"),
                                           headers: token("alice-t0ken-0000000001")).code, 403)
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, path: Self.path("web", "app"),
                                           headers: token("alice-t0ken-0000000001")).status, .success)
        // Admins need no rule.
        XCTAssertEqual(try SecurityRun.run(.spdy, port: gateway.port, path: Self.path("web", "debug"),
                                           headers: token("root-t0ken-0000000002")).status, .success)
    }

    /// Targets the policy's `privileged` list names (what an upstream backend relies on), here
    /// checked without any inventory.
    func testPolicyListedPrivilegedTargetsOnEveryGeneration() throws {
        let policy = """
        rules:
          - groups: [system:authenticated, system:unauthenticated]
        privileged:
          - {namespace: kube-system, pod: "*", container: "*"}
          - {namespace: default, pod: "db-*", container: admin}
        """
        let gateway = try SecureGateway(tokens: adminTokens, policy: policy, allowAnonymous: true)
        let cases: [(String, Bool)] = [
            (Self.path("proxy", "main", namespace: "kube-system"), true),
            (Self.path("db-0", "admin"), true),
            (Self.path("db-0", "app"), false),
            (Self.path("web", "admin"), false),
            // No container named: any container of a matching pod might be meant.
            (Self.path("db-1", nil), true),
        ]
        for wire in SecurityWire.plain {
            for (path, privileged) in cases {
                let alice = try SecurityRun.run(wire, port: gateway.port, path: path, headers: token("alice-t0ken-0000000001"))
                let anonymous = try SecurityRun.run(wire, port: gateway.port, path: path)
                let root = try SecurityRun.run(wire, port: gateway.port, path: path, headers: token("root-t0ken-0000000002"))
                XCTAssertEqual(root.status, .success, "\(wire) \(path)")
                if privileged {
                    XCTAssertEqual(alice.code, 403, "\(wire) \(path)")
                    XCTAssertTrue(alice.message.contains("is privileged"), alice.message)
                    XCTAssertEqual(anonymous.code, 403, "\(wire) \(path)")
                } else {
                    XCTAssertEqual(alice.status, .success, "\(wire) \(path)")
                    XCTAssertEqual(anonymous.status, .success, "\(wire) \(path)")
                }
            }
        }
    }

    func testDenialsAreAuditedAsDenied() throws {
        let gateway = try SecureGateway(tokens: adminTokens, inventory: privilegedInventory)
        _ = try SecurityRun.run(.h2Upgrade, port: gateway.port, path: Self.path("web", "debug"), headers: token("alice-t0ken-0000000001"))
        let line = gateway.lastAudit(count: 1)
        XCTAssertEqual(line["event"] as? String, "refusal")
        XCTAssertEqual(line["end"] as? String, "denied")
        XCTAssertEqual(line["code"] as? Int, 403)
        XCTAssertEqual(line["user"] as? String, "alice")
        XCTAssertEqual((line["target"] as? [String: Any])?["container"] as? String, "debug")
        XCTAssertEqual((line["client"] as? [String: Any])?["generation"] as? String, "HTTP/2")
        XCTAssertTrue((line["message"] as? String)?.contains("is privileged") ?? false)
    }
}
