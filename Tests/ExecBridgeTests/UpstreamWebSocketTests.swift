@testable import ExecBridge
import ExecModel
import XCTest

/// `--backend ws://`: the WebSocket channel protocol toward the upstream, from every client generation.
final class UpstreamWebSocketTests: XCTestCase {
    func testEveryClientGenerationThroughAWebSocketUpstream() throws {
        let pair = try UpstreamPair(.ws)
        for wire in [ExecRun.Wire.spdy, .h2Prior, .ws([.v5])] {
            let label = "\(wire) → ws"
            let ok = ExecRun().run(wire, port: pair.gateway.port, path: SessionCases.path(["sh", "-c", "echo out; echo err >&2; exit 3"]))
            XCTAssertEqual(ok.stdoutText, "out\n", label)
            XCTAssertEqual(ok.stderrText, "err\n", label)
            XCTAssertEqual(ok.exitCode, 3, "\(label): \(String(describing: ok.status))")
            // v5 upstream: the client's stdin EOF crosses as the close signal, so cat ends.
            let input = randomBytes(1 << 20)
            let cat = ExecRun(stdin: input).run(wire, port: pair.gateway.port,
                                                path: SessionCases.path(["cat"], "input=1&output=1&error=1"))
            XCTAssertTrue(cat.stdout == input, "\(label): \(cat.stdout.count) bytes back")
            XCTAssertEqual(cat.status, .success, label)
        }
        XCTAssertTrue(pair.seen.all.allSatisfy { $0.headers.contains { $0.name == "sec-websocket-protocol" } })
    }

    func testTTYResizeThroughAWebSocketUpstream() throws {
        let pair = try UpstreamPair(.ws)
        let r = ExecRun(resizes: [TerminalSize(width: 91, height: 19)])
            .run(.spdy, port: pair.gateway.port, path: SessionCases.path(["sh", "-c", SessionCases.awaitSize(rows: 19, cols: 91)], "output=1&tty=1"), tty: true)
        XCTAssertTrue(r.stdoutText.contains("19 91"), r.stdoutText)
    }

    /// v4 has no stdin EOF: the bytes pass, the half-close cannot. A command that stops reading by
    /// itself is unaffected; one that reads to EOF would wait until the client leaves.
    func testStdinEOFCannotReachAV4WebSocketUpstream() throws {
        let pair = try UpstreamPair(.ws, settings: { $0.versions = [.v4] })
        let r = ExecRun(stdin: Array("abcdef".utf8)).run(.spdy, port: pair.gateway.port,
                                                         path: SessionCases.path(["sh", "-c", "head -c 3; echo done"], "input=1&output=1&error=1"))
        XCTAssertEqual(r.stdoutText, "abcdone\n")
        XCTAssertEqual(r.status, .success)
        XCTAssertTrue(pair.seen.all.allSatisfy { $0.headers.contains { $0.name == "sec-websocket-protocol" && $0.value == "v4.channel.k8s.io" } })
    }
}
