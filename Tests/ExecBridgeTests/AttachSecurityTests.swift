@testable import ExecBridge
import ExecModel
import XCTest

/// `attach` is authorized as `create pods/attach`, privileged containers only for cluster admins,
/// and audited with its kind.
final class AttachSecurityTests: XCTestCase {
    static let inventory = """
        pods:
          - namespace: default
            name: web
            containers:
              - name: app
                command: [sh, -c, 'echo ready; sleep 600']
              - name: debug
                privileged: true
                command: [sh, -c, 'echo root-ready; sleep 600']
        """

    func testAttachIsAuthorizedAsPodsAttachWithThePrivilegedRule() throws {
        let gateway = try SecureGateway(tokens: adminTokens, inventory: Self.inventory, allowAnonymous: true)
        let clients = AttachClients(port: gateway.port)
        let alice = [(name: "Authorization", value: "Bearer alice-t0ken-0000000001")]
        let root = [(name: "Authorization", value: "Bearer root-t0ken-0000000002")]
        for wire in [ExecRun.Wire.spdy, .h2Prior, .ws([.v5])] {
            let refused = clients.open(wire, "/attach/default/web/debug?stdout=1", headers: alice)
            let admitted = clients.open(wire, "/attach/default/web/debug?stdout=1", headers: root)
            let plain = clients.open(wire, "/api/v1/namespaces/default/pods/web/attach?container=app&stdout=1", headers: alice)
            XCTAssertTrue(clients.pump { refused.isOver && admitted.stdoutText.contains("root-ready") && plain.stdoutText.contains("ready") },
                          "\(wire): \(String(describing: refused.status)) \(admitted.stdoutText) \(plain.stdoutText)")
            XCTAssertEqual(refused.status?.message.contains(#"cannot create resource "pods/attach" in API group "" in the namespace "default": container "debug" is privileged: attach to privileged containers is reserved to members of cluster-admin or system:masters"#),
                           true, "\(wire): \(String(describing: refused.status))")
            XCTAssertEqual(refused.stdout, [])
            admitted.kill()
            plain.kill()
            clients.pump(timeout: 0.2) { false }
        }
        let lines = gateway.auditLines(atLeast: 9)
        let attaches = lines.filter { ($0["kind"] as? String) == "attach" }
        XCTAssertEqual(attaches.count, 9, "\(lines)")
        XCTAssertEqual(attaches.filter { ($0["user"] as? String) == "root" || (($0["user"] as? [String: Any])?["name"] as? String) == "root" }.count, 3,
                       "\(attaches)")
    }
}
