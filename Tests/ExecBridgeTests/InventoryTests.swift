@testable import ExecBridge
import ExecModel
import Glibc
import XCTest

final class InventoryTests: XCTestCase {
    static let example = """
        pods:
          - node: node1            # optional; any node name matches when absent
            namespace: default
            name: web
            containers:
              - name: app
                workingDir: /srv   # optional
                env: {LANG: C.UTF-8}   # optional
                user: nobody       # optional
              - name: debug
                privileged: true
          - namespace: tools
            name: shell
            containers:
              - name: sh
                env:
                  PORT: 8080
                  EMPTY: ""
        """

    private func parseError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> InventoryError? {
        do {
            _ = try Inventory(yaml: yaml, source: "test.yaml")
            XCTFail("parsed without error", file: file, line: line)
            return nil
        } catch let error as InventoryError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testParsesTheExample() throws {
        let inventory = try Inventory(yaml: Self.example)
        XCTAssertEqual(inventory.pods, [
            PodSpec(node: "node1", namespace: "default", name: "web", containers: [
                ContainerSpec(name: "app", workingDir: "/srv", env: ["LANG": "C.UTF-8"], user: "nobody"),
                ContainerSpec(name: "debug", privileged: true),
            ]),
            PodSpec(namespace: "tools", name: "shell", containers: [
                ContainerSpec(name: "sh", env: ["PORT": "8080", "EMPTY": ""]),
            ]),
        ])
    }

    func testLoadsAFile() throws {
        let path = "/tmp/execbridge-inventory-\(getpid()).yaml"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = Self.example.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let inventory = try Inventory.load(path: path)
        XCTAssertEqual(inventory.pods.count, 2)
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Inventory.load(path: "/no/such/inventory.yaml")) { error in
            XCTAssertEqual("\(error)", "inventory /no/such/inventory.yaml: cannot open: No such file or directory")
        }
    }

    func testErrorsNameTheEntryAndLine() {
        XCTAssertEqual(parseError("pods: [\n")?.line, 2)
        XCTAssertTrue(parseError("pods: [\n")?.problem.hasPrefix("not valid YAML") ?? false)
        XCTAssertEqual(parseError("")?.description,
                       "inventory test.yaml: the document is empty; expected a mapping with a \"pods\" list")
        XCTAssertEqual(parseError("pod: []")?.description,
                       "inventory test.yaml:1: unknown key \"pod\" (expected one of: pods)")
        XCTAssertEqual(parseError("pods: {}")?.description, "inventory test.yaml:1: pods: must be a list of pods")
        XCTAssertEqual(parseError("""
            pods:
              - namespace: default
                containers: [{name: app}]
            """)?.description, "inventory test.yaml:2: pods[0]: missing key \"name\"")
        XCTAssertEqual(parseError("""
            pods:
              - {namespace: default, name: web, containers: [{name: app}]}
              - namespace: default
                name: db
                containers:
                  - name: app
                    workdir: /srv
            """)?.description,
                       "inventory test.yaml:7: pods[1].containers[0]: unknown key \"workdir\" (expected one of: env, name, ports, privileged, user, workingDir)")
        XCTAssertEqual(parseError("""
            pods:
              - namespace: default
                name: web
                containers:
                  - name: app
                    env: [A, B]
            """)?.description, "inventory test.yaml:6: pods[0].containers[0].env: must be a mapping of variable names to values")
        XCTAssertEqual(parseError("""
            pods:
              - namespace: default
                name: web
                containers: [{name: app}, {name: app}]
            """)?.description, "inventory test.yaml:4: pods[0].containers[1].name: duplicate container name \"app\"")
        XCTAssertEqual(parseError("""
            pods:
              - {namespace: default, name: web, containers: [{name: app, workingDir: srv}]}
            """)?.description, "inventory test.yaml:2: pods[0].containers[0].workingDir: must be an absolute path, not \"srv\"")
        XCTAssertEqual(parseError("""
            pods:
              - {namespace: default, name: web, containers: [{name: app, privileged: maybe}]}
            """)?.description, "inventory test.yaml:2: pods[0].containers[0].privileged: must be true or false")
        XCTAssertEqual(parseError("""
            pods:
              - {namespace: default, name: web, containers: []}
            """)?.description, "inventory test.yaml:2: pods[0].containers: must be a non-empty list of containers")
        XCTAssertEqual(parseError("""
            pods:
              - {namespace: default, name: web, containers: [{name: app}]}
              - {namespace: default, name: web, containers: [{name: app}]}
            """)?.description, "inventory test.yaml:3: pods[1]: duplicate of pods[0] (default/web)")
        let badName = parseError("""
            pods:
              - {namespace: Default, name: web, containers: [{name: app}]}
            """)
        XCTAssertEqual(badName?.entry, "pods[0].namespace")
        XCTAssertTrue(badName?.problem.hasPrefix("invalid namespace \"Default\": a lowercase RFC 1123 subdomain") ?? false)
        XCTAssertEqual(parseError("""
            pods:
              - {namespace: default, name: web, containers: [{name: a.b}]}
            """)?.problem, "invalid container name \"a.b\": must not contain dots")
    }

    /// Found by Fuzz/FuzzPolicy (the same Yams path): deep nesting overflowed the stack while composing.
    func testDeepNestingIsAnErrorNotACrash() {
        for text in ["pods: " + String(repeating: "[", count: 100_000),
                     "pods:\n" + String(repeating: "{a: ", count: 50_000)] {
            XCTAssertEqual(parseError(text)?.problem, "not valid YAML: nested deeper than 256 levels")
        }
        // Quotes do not hide closers that are not there, nor openers that are.
        XCTAssertGreaterThan(YAMLNesting.bound("a: [\"]]]\", [[[[x]]]]]"), 5)
        XCTAssertGreaterThan(YAMLNesting.bound("a: 'it''s ]]]' [[[[x"), 4)
        XCTAssertLessThan(YAMLNesting.bound(Self.example), 32)
    }

    func testLookups() throws {
        let inventory = try Inventory(yaml: Self.example)
        func lookup(_ container: String?, pod: String = "web", namespace: String = "default",
                    node: String? = nil) -> Result<ContainerSpec, RequestError> {
            inventory.lookup(ExecTarget(node: node, namespace: namespace, pod: pod, container: container))
        }
        XCTAssertEqual(try lookup("app").get().workingDir, "/srv")
        XCTAssertEqual(try lookup("app", node: "node1").get().user, "nobody")
        XCTAssertEqual(try lookup("debug").get().privileged, true)
        // A pod entry without a node answers to any node.
        XCTAssertEqual(try lookup("sh", pod: "shell", namespace: "tools", node: "anything").get().name, "sh")
        // The apiserver form may omit the container of a one-container pod.
        XCTAssertEqual(try lookup(nil, pod: "shell", namespace: "tools").get().env["PORT"], "8080")

        XCTAssertEqual(lookup("app", node: "node2").failure, .notFound("pods \"web\" not found"))
        XCTAssertEqual(lookup("app", pod: "db").failure, .notFound("pods \"db\" not found"))
        XCTAssertEqual(lookup("sidecar").failure, .notFound("containers \"sidecar\" not found"))
        XCTAssertEqual(lookup("app", namespace: "kube-system").failure, .notFound("namespaces \"kube-system\" not found"))
        XCTAssertEqual(lookup(nil).failure,
                       .badRequest("a container name must be specified for pod web, choose one of: [app debug]"))
        XCTAssertEqual(lookup("sidecar").failure?.code, 404)
        XCTAssertEqual(lookup("sidecar").failure?.reason, "NotFound")
    }
}

private extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
