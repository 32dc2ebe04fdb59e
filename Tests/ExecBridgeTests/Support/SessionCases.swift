@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import XCTest

/// The end-to-end cases every generation must pass, against the embedded local backend.
/// Each generation's test class calls them with its own protocol.
struct SessionCases {
    let proto: ExecRun.Wire
    let tls: TLSContext?
    let harness: GatewayHarness

    init(_ proto: ExecRun.Wire, harness: GatewayHarness, tls: TLSContext? = nil) {
        self.proto = proto
        self.harness = harness
        self.tls = tls
    }

    static func path(_ argv: [String], _ flags: String = "output=1&error=1", form: String = "/proxy/nodes/n1/exec/default/web/app") -> String {
        form + "?" + argv.map { "command=" + encode($0) }.joined(separator: "&") + "&" + flags
    }

    static func encode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(UnicodeScalar(byte))
            if c.isLetter || c.isNumber || "-_.~".contains(c) { out.append(c) } else { out += String(format: "%%%02X", byte) }
        }
        return out
    }

    func run(_ argv: [String], flags: String = "output=1&error=1", stdin: [UInt8]? = nil,
             versions: [ChannelVersion] = [.v4, .v3, .v2, .v1], tty: Bool = false, resizes: [TerminalSize] = [],
             form: String = "/proxy/nodes/n1/exec/default/web/app", timeout: Double = 30,
             file: StaticString = #filePath, line: UInt = #line) -> ExecRun {
        ExecRun(stdin: stdin, resizes: resizes).run(proto, port: harness.port, path: Self.path(argv, flags, form: form),
                                                     versions: versions, tty: tty, tls: tls, timeout: timeout,
                                                     file: file, line: line)
    }

    func echo(file: StaticString = #filePath, line: UInt = #line) {
        let r = run(["sh", "-c", "echo hello"])
        XCTAssertEqual(r.stdoutText, "hello\n", file: file, line: line)
        XCTAssertEqual(r.status, .success, file: file, line: line)
    }

    func exitCodes(file: StaticString = #filePath, line: UInt = #line) {
        for code in [1, 3, 255] {
            let r = run(["sh", "-c", "exit \(code)"])
            XCTAssertEqual(r.exitCode, code, "exit \(code): \(String(describing: r.status))", file: file, line: line)
        }
    }

    func stderrSeparate(file: StaticString = #filePath, line: UInt = #line) {
        let r = run(["sh", "-c", "echo out; echo err >&2; exit 2"])
        XCTAssertEqual(r.stdoutText, "out\n", file: file, line: line)
        XCTAssertEqual(r.stderrText, "err\n", file: file, line: line)
        XCTAssertEqual(r.exitCode, 2, file: file, line: line)
    }

    func stdinHalfClose(megabytes: Int = 10, file: StaticString = #filePath, line: UInt = #line) {
        let input = randomBytes(megabytes * 1024 * 1024)
        let r = run(["cat"], flags: "input=1&output=1&error=1", stdin: input, timeout: 120)
        XCTAssertEqual(r.stdout.count, input.count, file: file, line: line)
        XCTAssertTrue(r.stdout == input, "stdin bytes differ from stdout bytes", file: file, line: line)
        XCTAssertEqual(r.status, .success, file: file, line: line)
    }

    /// A shell snippet that polls (every 0.1 s, for at most 20 s) until the terminal is `rows cols`,
    /// then prints its size. The resize travels beside the command's start: a fixed sleep would race
    /// it on a loaded machine.
    static func awaitSize(rows: Int, cols: Int) -> String {
        #"i=0; while [ $i -lt 200 ]; do s=$(stty size); [ "$s" = "\#(rows) \#(cols)" ] && break; i=$((i+1)); sleep 0.1; done; echo "$s""#
    }

    func ttyResize(file: StaticString = #filePath, line: UInt = #line) {
        let r = run(["sh", "-c", "tty; " + Self.awaitSize(rows: 45, cols: 123)], flags: "output=1&tty=1", tty: true,
                    resizes: [TerminalSize(width: 123, height: 45)])
        XCTAssertTrue(r.stdoutText.contains("/dev/pts/"), r.stdoutText, file: file, line: line)
        XCTAssertTrue(r.stdoutText.contains("45 123"), r.stdoutText, file: file, line: line)
        XCTAssertEqual(r.status, .success, file: file, line: line)
    }

    /// A client that hands over stdin and the first resize before its streams exist.
    func earlyInput(file: StaticString = #filePath, line: UInt = #line) {
        let run = ExecRun(stdin: Array("early\n".utf8), resizes: [TerminalSize(width: 77, height: 33)])
        run.early = true
        let tty = run.run(proto, port: harness.port, path: Self.path(["sh", "-c", Self.awaitSize(rows: 33, cols: 77) + "; head -1"], "input=1&output=1&tty=1"),
                          tty: true, tls: tls, timeout: 10)
        XCTAssertTrue(tty.stdoutText.contains("33 77"), tty.stdoutText, file: file, line: line)
        XCTAssertTrue(tty.stdoutText.contains("early"), tty.stdoutText, file: file, line: line)
    }

    func versions(file: StaticString = #filePath, line: UInt = #line) {
        for version in [ChannelVersion.v1, .v2, .v3, .v4] {
            let ok = run(["sh", "-c", "echo v"], versions: [version])
            XCTAssertEqual(ok.stdoutText, "v\n", "\(version)", file: file, line: line)
            XCTAssertEqual(ok.status, .success, "\(version)", file: file, line: line)
            let failed = run(["sh", "-c", "exit 3"], versions: [version])
            XCTAssertEqual(failed.exitCode, 3, "\(version): \(String(describing: failed.status))", file: file, line: line)
        }
    }

    func notFoundCommand(file: StaticString = #filePath, line: UInt = #line) {
        let r = run(["/no/such/binary"])
        XCTAssertNotNil(r.status, file: file, line: line)
        XCTAssertNotEqual(r.status, .success, file: file, line: line)
        XCTAssertTrue(r.status?.message.contains("no/such/binary") ?? false, "\(String(describing: r.status))", file: file, line: line)
    }

    func streamCreationTimeout(file: StaticString = #filePath, line: UInt = #line) {
        // The URL asks for stdin, but the client (told by its own flags) never opens it.
        let path = Self.path(["cat"], "input=1&output=1&error=1")
        var options = ExecClientOptions(authority: "x", path: path, stdin: false, stdout: true, stderr: true, tty: false)
        options.versions = [.v4]
        let r = ExecRun().runWith(options: options, proto: proto, port: harness.port, tls: tls, timeout: 10)
        guard case .failure(let message, _, _)? = r.status else {
            return XCTFail("expected a failure status, got \(String(describing: r.status)) / \(String(describing: r.ended))", file: file, line: line)
        }
        XCTAssertTrue(message.contains("timed out waiting for client to create streams"), message, file: file, line: line)
    }

    func clientKilledLeavesNoProcess(file: StaticString = #filePath, line: UInt = #line) {
        let marker = "\(Int.random(in: 100_000...999_999))"
        let r = ExecRun()
        var killed = false
        r.onTick = { run in
            if !killed && !processes(containing: "sleep \(marker)").isEmpty {
                killed = true
                run.kill()
            }
        }
        r.run(proto, port: harness.port, path: Self.path(["sleep", marker], "input=1&output=1&error=1"), tls: tls, timeout: 10)
        XCTAssertTrue(killed, "the command never started", file: file, line: line)
        let deadline = EventLoop.now() + 15
        while !processes(containing: "sleep \(marker)").isEmpty && EventLoop.now() < deadline { usleep(50_000) }
        XCTAssertEqual(processes(containing: "sleep \(marker)"), [], "process left behind", file: file, line: line)
    }

    func slowReaderStaysWithinBudget(file: StaticString = #filePath, line: UInt = #line) {
        let r = ExecRun()
        var ticks = 0
        r.onTick = { run in
            ticks += 1
            if ticks == 1 { run.pauseReading(true) }
            if ticks == 200 { run.pauseReading(false) } // ~1 s of not reading
        }
        r.run(proto, port: harness.port, path: Self.path(["head", "-c", "50000000", "/dev/zero"], "output=1"), tls: tls, timeout: 120)
        XCTAssertEqual(r.stdout.count, 50_000_000, file: file, line: line)
        XCTAssertEqual(r.status, .success, file: file, line: line)
        let budget = harness.gateway.config.bridge.channelBudget
        // One read (64 KiB) or one frame may land after the pause decision.
        XCTAssertLessThanOrEqual(harness.gateway.peakPending, budget + 128 * 1024, file: file, line: line)
        XCTAssertGreaterThan(harness.gateway.peakPending, 0, file: file, line: line)
    }
}

/// Pseudo-random bytes, fast even in a debug build (xorshift64*, eight bytes a step).
func randomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        var i = 0
        while i < count {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            var word = (state &* 0x2545_F491_4F6C_DD1D).littleEndian
            let n = min(8, count - i)
            withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: i).copyMemory(from: $0.baseAddress!, byteCount: n) }
            i += n
        }
    }
    return out
}

extension ExecRun {
    func runWith(options: ExecClientOptions, proto: Wire, port: UInt16, tls: TLSContext?, timeout: Double) -> ExecRun {
        run(proto, port: port, path: options.path, versions: options.versions, tls: tls, timeout: timeout,
            optionsOverride: options)
    }
}

import Foundation
