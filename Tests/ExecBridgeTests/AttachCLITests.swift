@testable import ExecBridge
import ExecModel
import Foundation
import XCTest

/// `execbridge attach URL`: the request it builds, its one-line errors, and a real attach.
final class AttachCLITests: XCTestCase {
    private func attach(_ url: String, _ change: (inout ExecCLIOptions) -> Void = { _ in }) throws -> ExecCLIOptions.Resolved {
        var options = ExecCLIOptions(url: url, command: [])
        options.attach = true
        change(&options)
        return try options.resolve()
    }

    private func usageError(_ url: String, _ change: (inout ExecCLIOptions) -> Void = { _ in }) -> String? {
        do {
            _ = try attach(url, change)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testAttachURLsGetFlagsAndNoCommand() throws {
        let api = try attach("http://127.0.0.1:8080/api/v1/namespaces/default/pods/web/attach?container=app") {
            $0.stdin = true
            $0.tty = true
        }
        XCTAssertEqual(api.client.path, "/api/v1/namespaces/default/pods/web/attach?container=app&stdin=true&stdout=true&tty=true")
        let kubelet = try attach("http://h/attach/default/web/app?command=ignored")
        XCTAssertEqual(kubelet.client.path, "/attach/default/web/app?output=1&error=1")
        XCTAssertTrue(kubelet.client.stderr)
    }

    func testAttachErrorsSayWhatToUse() {
        XCTAssertEqual(usageError("http://h/exec/default/web/app"),
                       "execbridge attach needs an attach URL, not exec (e.g. /api/v1/namespaces/NS/pods/POD/attach?container=C)")
        XCTAssertEqual(usageError("http://h/attach/default/web/app") { $0.command = ["ls"] },
                       "attach takes no command: it joins the container's main process")
        XCTAssertEqual(usageError("http://h/healthz"),
                       "/healthz is not an attach path (e.g. /api/v1/namespaces/NS/pods/POD/attach?container=C)")
    }

    func testTheCommandAttachesAndExitsWithTheProcess() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServeProcess.binary.path), "execbridge not built")
        let wires = ["spdy", "h2", "h2c-upgrade", "ws"]
        // One process per wire: each run ends its process (restartPolicy Never).
        let containers = wires.map { wire in """
                  - name: \(wire == "h2c-upgrade" ? "upgrade" : wire)
                    command: [sh, -c, 'echo ready; read l; echo "got:$l"; exit 6']
                    stdin: true
                    stdinOnce: true
                    restartPolicy: Never
            """ }.joined(separator: "\n")
        let harness = try attachGateway("pods:\n  - namespace: default\n    name: web\n    containers:\n" + containers)
        for wire in wires {
            let container = wire == "h2c-upgrade" ? "upgrade" : wire
            let process = Process()
            process.executableURL = ServeProcess.binary
            process.arguments = ["attach", "--protocol", wire, "-i",
                                 "http://127.0.0.1:\(harness.port)/api/v1/namespaces/default/pods/web/attach?container=\(container)"]
            let input = Pipe(), out = Pipe()
            process.standardInput = input
            process.standardOutput = out
            try process.run()
            input.fileHandleForWriting.write(Data("typed\n".utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 6, wire)
            XCTAssertEqual(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "ready\ngot:typed\n", wire)
        }
    }
}
