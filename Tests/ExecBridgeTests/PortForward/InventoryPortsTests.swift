@testable import ExecBridge
import ExecModel
import XCTest

/// `ports:` on a pod and on its containers: what port-forward may reach.
final class InventoryPortsTests: XCTestCase {
    private func problem(_ yaml: String) -> String? {
        do {
            _ = try Inventory(yaml: yaml, source: "inv.yaml")
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testPortsOnThePodAndItsContainersAreThePods() throws {
        let inventory = try Inventory(yaml: """
            pods:
              - namespace: default
                name: web
                ports: [8080]
                containers:
                  - {name: app, ports: [9090, 9091]}
                  - {name: sidecar}
              - {namespace: default, name: db, containers: [{name: pg}]}
            """)
        let web = try inventory.pod(ExecTarget(namespace: "default", pod: "web", container: nil)).get()
        XCTAssertEqual(web.forwardablePorts, [8080, 9090, 9091])
        XCTAssertEqual(web.containers[0].ports, [9090, 9091])
        let db = try inventory.pod(ExecTarget(namespace: "default", pod: "db", container: nil)).get()
        XCTAssertEqual(db.forwardablePorts, [])
        guard case .failure(let missing) = inventory.pod(ExecTarget(namespace: "default", pod: "nope", container: nil)) else {
            return XCTFail("found a pod that is not there")
        }
        XCTAssertEqual(missing.code, 404)
        XCTAssertEqual(missing.message, #"pods "nope" not found"#)
    }

    func testBadPortsNameTheEntryAndLine() {
        XCTAssertEqual(problem("pods:\n  - {namespace: d, name: w, ports: 8080, containers: [{name: a}]}\n"),
                       "inventory inv.yaml:2: pods[0].ports: must be a list of port numbers, e.g. [8080, 9090]")
        XCTAssertEqual(problem("pods:\n  - {namespace: d, name: w, ports: [0], containers: [{name: a}]}\n"),
                       "inventory inv.yaml:2: pods[0].ports[0]: must be a port number from 1 to 65535")
        XCTAssertEqual(problem("pods:\n  - {namespace: d, name: w, containers: [{name: a, ports: [80, 65536]}]}\n"),
                       "inventory inv.yaml:2: pods[0].containers[0].ports[1]: must be a port number from 1 to 65535")
        XCTAssertEqual(problem("pods:\n  - {namespace: d, name: w, containers: [{name: a, ports: [80, http]}]}\n"),
                       "inventory inv.yaml:2: pods[0].containers[0].ports[1]: must be a port number from 1 to 65535")
        XCTAssertEqual(problem("pods:\n  - {namespace: d, name: w, ports: [80, 80], containers: [{name: a}]}\n"),
                       "inventory inv.yaml:2: pods[0].ports[1]: port 80 is listed twice")
    }
}
