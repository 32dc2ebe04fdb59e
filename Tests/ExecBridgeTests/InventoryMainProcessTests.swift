@testable import ExecBridge
import ExecModel
import XCTest

/// The main-process keys of an inventory container (what `attach` connects to).
final class InventoryMainProcessTests: XCTestCase {
    private func containers(_ body: String) throws -> [ContainerSpec] {
        try Inventory(yaml: "pods:\n  - namespace: default\n    name: web\n    containers:\n" + body, source: "test.yaml")
            .pods[0].containers
    }

    private func problem(_ body: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try containers(body)
            XCTFail("parsed without error", file: file, line: line)
        } catch {
            return "\(error)"
        }
        return nil
    }

    func testParsesEveryKeyWithKubernetesDefaults() throws {
        let parsed = try containers("""
                  - name: app
                    command: [sh, -c, 'echo "a b"', '']
                    tty: true
                    stdin: true
                    stdinOnce: true
                    restartPolicy: OnFailure
                  - name: plain
                  - name: short
                    command: [cat]
            """)
        XCTAssertEqual(parsed[0].main, MainProcessSpec(command: ["sh", "-c", "echo \"a b\"", ""], tty: true, stdin: true,
                                                       stdinOnce: true, restartPolicy: .onFailure))
        XCTAssertNil(parsed[1].main)
        // As in a pod spec: no tty, no stdin, restartPolicy Always.
        XCTAssertEqual(parsed[2].main, MainProcessSpec(command: ["cat"], tty: false, stdin: false, stdinOnce: false,
                                                       restartPolicy: .always))
    }

    func testErrorsNameTheEntryAndLine() {
        XCTAssertEqual(problem("      - name: app\n        command: sh\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command: must be a non-empty list of arguments, e.g. [sh, -c, 'exec my-server']")
        XCTAssertEqual(problem("      - name: app\n        command: []\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command: must be a non-empty list of arguments, e.g. [sh, -c, 'exec my-server']")
        XCTAssertEqual(problem("      - name: app\n        command: [sh, [x]]\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command[1]: must be a plain string")
        XCTAssertEqual(problem("      - name: app\n        command: ['', x]\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command[0]: the program must not be empty")
        XCTAssertEqual(problem("      - name: app\n        command: [cat]\n        restartPolicy: always\n"),
                       "inventory test.yaml:7: pods[0].containers[0].restartPolicy: must be one of Always, OnFailure, Never, not \"always\"")
        XCTAssertEqual(problem("      - name: app\n        command: [cat]\n        tty: yes please\n"),
                       "inventory test.yaml:7: pods[0].containers[0].tty: must be true or false")
        XCTAssertEqual(problem("      - name: app\n        stdin: true\n"),
                       "inventory test.yaml:6: pods[0].containers[0].stdin: needs a \"command\" (the main process it describes)")
        XCTAssertEqual(problem("      - name: app\n        command: [\"a\\0b\"]\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command[0]: must not contain a NUL byte")
    }

    func testCommandIsBounded() {
        let many = "[" + Array(repeating: "x", count: MainProcessSpec.maximumArguments + 1).joined(separator: ",") + "]"
        XCTAssertEqual(problem("      - name: app\n        command: \(many)\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command: more than \(MainProcessSpec.maximumArguments) arguments")
        let long = String(repeating: "y", count: MainProcessSpec.maximumArgumentBytes)
        XCTAssertEqual(problem("      - name: app\n        command: [\(long)]\n"),
                       "inventory test.yaml:6: pods[0].containers[0].command: longer than \(MainProcessSpec.maximumArgumentBytes) bytes")
    }

    func testThePodDocumentTellsKubectlAboutTheTerminal() throws {
        let inventory = try Inventory(yaml: """
            pods:
              - namespace: default
                name: web
                containers:
                  - {name: app, command: [sh], tty: true, stdin: true}
                  - {name: plain}
            """)
        let pod = try XCTUnwrap(PodCatalog(inventory: inventory, started: "").pod(namespace: "default", name: "web"))
        let text = PodDocument.pod(pod, started: "2026-01-01T00:00:00Z")
        XCTAssertTrue(text.contains(#"{"name":"app","image":"execbridge/local","stdin":true,"stdinOnce":false,"tty":true}"#), text)
        XCTAssertTrue(text.contains(#"{"name":"plain","image":"execbridge/local"}"#), text)
    }
}
