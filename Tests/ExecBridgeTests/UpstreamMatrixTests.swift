import Foundation
@testable import ExecBridge
import ExecModel
import XCTest

/// Client generation × upstream generation × versions, through two gateways on loopback: what a
/// user sees (bytes, exit codes, the end of stdin, the terminal size) must not depend on the
/// path a session takes.
final class UpstreamMatrixTests: XCTestCase {
    static let clients: [ExecRun.Wire] = [.spdy, .h2Prior]
    static let upstreams: [UpstreamScheme] = [.spdy, .h2c]

    private func exec(_ wire: ExecRun.Wire, _ pair: UpstreamPair, _ argv: [String], flags: String = "output=1&error=1",
                      stdin: [UInt8]? = nil, versions: [ChannelVersion] = [.v4, .v3, .v2, .v1], tty: Bool = false,
                      resizes: [TerminalSize] = [], timeout: Double = 30,
                      file: StaticString = #filePath, line: UInt = #line) -> ExecRun {
        ExecRun(stdin: stdin, resizes: resizes).run(wire, port: pair.gateway.port, path: SessionCases.path(argv, flags),
                                                     versions: versions, tty: tty, timeout: timeout, file: file, line: line)
    }

    /// v1, v2 and v4 clients against a v4 upstream, and a v4 client against a v2-only upstream.
    private var combinations: [(client: [ChannelVersion], upstream: [ChannelVersion]?, label: String)] {
        [([.v1], nil, "v1→v4"), ([.v2], nil, "v2→v4"), ([.v4], nil, "v4→v4"), ([.v4], [.v2], "v4→v2")]
    }

    func testOutputAndExitCodes() throws {
        for upstream in Self.upstreams {
            for combo in combinations {
                let pair = try UpstreamPair(upstream, settings: { $0.versions = combo.upstream })
                for wire in Self.clients {
                    let label = "\(wire) → \(upstream.rawValue) \(combo.label)"
                    let ok = exec(wire, pair, ["sh", "-c", "echo out; echo err >&2"], versions: combo.client)
                    XCTAssertEqual(ok.stdoutText, "out\n", label)
                    XCTAssertEqual(ok.stderrText, "err\n", label)
                    XCTAssertEqual(ok.status, .success, label)
                    for code in [3, 255] {
                        let failed = exec(wire, pair, ["sh", "-c", "echo bye; exit \(code)"], versions: combo.client)
                        XCTAssertEqual(failed.stdoutText, "bye\n", label)
                        XCTAssertEqual(failed.exitCode, code, "\(label): \(String(describing: failed.status))")
                    }
                    let killed = exec(wire, pair, ["sh", "-c", "kill -9 $$"], versions: combo.client)
                    XCTAssertEqual(killed.status, .exitCode(137, detail: "signal: killed"), label)
                }
            }
        }
    }

    func testStdinHalfCloseReachesTheCommand() throws {
        var generator = SystemRandomNumberGenerator()
        let input = (0..<(2 * 1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for upstream in Self.upstreams {
            for combo in combinations where combo.client != [.v1] {
                let pair = try UpstreamPair(upstream, settings: { $0.versions = combo.upstream })
                for wire in Self.clients {
                    let label = "\(wire) → \(upstream.rawValue) \(combo.label)"
                    // cat ends only when stdin ends: the half-close went all the way.
                    let r = exec(wire, pair, ["cat"], flags: "input=1&output=1&error=1", stdin: input,
                                 versions: combo.client, timeout: 60)
                    XCTAssertEqual(r.stdout.count, input.count, label)
                    XCTAssertTrue(r.stdout == input, "\(label): stdin bytes differ from stdout bytes")
                    XCTAssertEqual(r.status, .success, label)
                    let counted = exec(wire, pair, ["wc", "-c"], flags: "input=1&output=1", stdin: Array("abc".utf8),
                                       versions: combo.client)
                    XCTAssertEqual(counted.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "3", label)
                }
            }
        }
    }

    func testResizeReachesAV4Upstream() throws {
        let poll = "printf 'size '; " + SessionCases.awaitSize(rows: 45, cols: 123)
        for upstream in Self.upstreams {
            let pair = try UpstreamPair(upstream)
            for wire in Self.clients {
                for versions in [[ChannelVersion.v4], [.v3]] {
                    let r = exec(wire, pair, ["sh", "-c", poll], flags: "output=1&tty=1", versions: versions, tty: true,
                                 resizes: [TerminalSize(width: 123, height: 45)])
                    XCTAssertTrue(r.stdoutText.contains("size 45 123"), "\(wire) → \(upstream.rawValue) \(versions): \(r.stdoutText)")
                    XCTAssertEqual(r.status, .success)
                }
            }
        }
    }

    func testResizeIsDroppedTowardAnUpstreamWithoutResize() throws {
        for upstream in Self.upstreams {
            let pair = try UpstreamPair(upstream, settings: { $0.versions = [.v2] })
            for wire in Self.clients {
                // The line on stdin leaves the client after the resize: once the command has read
                // it, the gateway has already dropped (or, wrongly, passed on) the size.
                let r = exec(wire, pair, ["sh", "-c", "tty; read line; stty size; exit 4"], flags: "input=1&output=1&tty=1",
                             stdin: Array("go\n".utf8), versions: [.v4], tty: true,
                             resizes: [TerminalSize(width: 123, height: 45)])
                // The session goes on (on a terminal) without the size, and keeps its exit code.
                XCTAssertTrue(r.stdoutText.contains("/dev/pts/"), r.stdoutText)
                XCTAssertFalse(r.stdoutText.contains("45 123"), r.stdoutText)
                XCTAssertEqual(r.exitCode, 4, "\(wire) → \(upstream.rawValue): \(String(describing: r.status))")
            }
        }
    }

    func testH2cUpgradeUpstream() throws {
        let pair = try UpstreamPair(.h2cUpgrade)
        for wire in Self.clients {
            let r = exec(wire, pair, ["sh", "-c", "cat; exit 7"], flags: "input=1&output=1", stdin: Array("upgrade\n".utf8))
            XCTAssertEqual(r.stdoutText, "upgrade\n", "\(wire)")
            XCTAssertEqual(r.exitCode, 7, "\(wire): \(String(describing: r.status))")
        }
    }
}
