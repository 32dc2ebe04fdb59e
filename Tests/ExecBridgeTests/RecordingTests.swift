@testable import ExecBridge
import ExecModel
import Foundation
import Reactor
import XCTest

/// `--record-dir`: one asciicast v2 file per session, written on the gateway's loop while the
/// session runs, compared here with what the client received.
final class RecordingTests: XCTestCase {
    /// A gateway recording into a fresh directory (not yet created: the gateway creates it 0700),
    /// with an audit log.
    final class RecordingGateway {
        let dir = NSTemporaryDirectory() + "execbridge-rec-\(getpid())-\(UUID().uuidString.prefix(8))"
        var recordDir: String { dir + "/recordings" }
        var auditPath: String { dir + "/audit.log" }
        private(set) var harness: GatewayHarness!
        var port: UInt16 { harness.port }

        init(maxBytes: Int = 64 * 1024 * 1024, recordInput: Bool = false) throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var recording = RecordingSettings(directory: recordDir)
            recording.maxBytes = maxBytes
            recording.recordInput = recordInput
            let prepared = try recording.prepared().redacting(with: [])
            var security = SecuritySettings()
            security.auditLog = auditPath
            var installError: Error?
            harness = try GatewayHarness(configure: { config in
                config.bridge.tap = prepared
                do { try security.install(into: &config) } catch { installError = error }
            })
            if let installError { throw installError }
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        /// The files, once `count` sessions are audited (the audit line follows the file's close).
        func recordings(count: Int = 1, file: StaticString = #filePath, line: UInt = #line) -> [Cast] {
            let deadline = EventLoop.now() + 10
            while auditLines().count < count && EventLoop.now() < deadline { usleep(10_000) }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: recordDir)) ?? []).sorted()
            XCTAssertEqual(names.count, count, "recordings: \(names)", file: file, line: line)
            return names.compactMap { try? Cast(path: recordDir + "/" + $0) }
        }

        func auditLines() -> [[String: Any]] {
            let text = (try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    /// One asciicast v2 file, parsed as a player would (every line must be JSON).
    struct Cast {
        let path: String
        let size: Int
        let mode: Int
        let header: [String: Any]
        let events: [(time: Double, code: String, data: String)]

        init(path: String) throws {
            self.path = path
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            size = data.count
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            mode = (attributes[.posixPermissions] as? Int) ?? -1
            let lines = data.split(separator: UInt8(ascii: "\n"))
            header = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0])) as? [String: Any])
            events = try lines.dropFirst().map { line in
                let array = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line)) as? [Any], "\(line)")
                return (try XCTUnwrap(array[0] as? Double), try XCTUnwrap(array[1] as? String), try XCTUnwrap(array[2] as? String))
            }
        }

        func text(_ code: String) -> String { events.filter { $0.code == code }.map(\.data).joined() }
    }

    func testNonTTYSessionRecordsStdoutAndStderrAndTheAuditLineNamesTheFile() throws {
        let gateway = try RecordingGateway()
        let cases = SessionCases(.spdy, harness: gateway.harness)
        let r = cases.run(["sh", "-c", "printf 'out\\n'; sleep 0.2; printf 'err\\n' >&2; exit 3"], form: "/proxy/nodes/n1/exec/default/web/app")
        XCTAssertEqual(r.exitCode, 3)
        XCTAssertEqual(r.stdoutText, "out\n")
        XCTAssertEqual(r.stderrText, "err\n")
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertEqual(cast.text("o"), "out\nerr\n")
        XCTAssertEqual(cast.mode, 0o600)
        var info = stat()
        XCTAssertEqual(stat(gateway.recordDir, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(cast.header["version"] as? Int, 2)
        XCTAssertEqual(cast.header["width"] as? Int, 80)
        XCTAssertEqual(cast.header["height"] as? Int, 24)
        XCTAssertEqual(cast.header["command"] as? String, "sh -c 'printf '\\''out\\n'\\''; sleep 0.2; printf '\\''err\\n'\\'' >&2; exit 3'")
        let timestamp = try XCTUnwrap(cast.header["timestamp"] as? Int)
        XCTAssertLessThanOrEqual(abs(timestamp - Int(Date().timeIntervalSince1970)), 60)
        let own = try XCTUnwrap(cast.header["execbridge"] as? [String: Any])
        XCTAssertEqual(own["user"] as? String, "system:anonymous")
        XCTAssertEqual(own["generation"] as? String, "SPDY/3.1")
        XCTAssertEqual(own["target"] as? [String: String], ["node": "n1", "namespace": "default", "pod": "web", "container": "app"])
        let name = (cast.path as NSString).lastPathComponent
        XCTAssertTrue(name.hasSuffix("-system_anonymous.cast"), name)
        XCTAssertTrue(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }, name)
        XCTAssertEqual(gateway.auditLines().last?["recording"] as? String, cast.path)
    }

    /// The header's command hides secrets as the audit line does: recordings are replayed by more
    /// people than read the audit log.
    func testTheRecordedCommandIsRedactedLikeTheAuditLine() throws {
        let gateway = try RecordingGateway()
        let cases = SessionCases(.h2Prior, harness: gateway.harness)
        let r = cases.run(["echo", "--password", "hunter2", "MYSQL_PWD=s3cret"], form: "/proxy/nodes/n1/exec/default/web/app")
        XCTAssertEqual(r.exitCode, 0)
        XCTAssertEqual(r.stdoutText, "--password hunter2 MYSQL_PWD=s3cret\n")
        let cast = try XCTUnwrap(gateway.recordings().first)
        let command = try XCTUnwrap(cast.header["command"] as? String)
        XCTAssertFalse(command.contains("hunter2"), command)
        XCTAssertFalse(command.contains("s3cret"), command)
        XCTAssertTrue(command.hasPrefix("echo --password"), command)
    }

    func testTTYSessionTakesItsSizeFromTheFirstResizeAndRecordsResizes() throws {
        let gateway = try RecordingGateway()
        let cases = SessionCases(.h2Prior, harness: gateway.harness)
        let r = cases.run(["sh", "-c", "sleep 0.5; stty size"], flags: "output=1&tty=1", tty: true,
                          resizes: [TerminalSize(width: 100, height: 30), TerminalSize(width: 120, height: 40)])
        XCTAssertEqual(r.exitCode, 0)
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertEqual(cast.header["width"] as? Int, 100)
        XCTAssertEqual(cast.header["height"] as? Int, 30)
        XCTAssertEqual(cast.events.filter { $0.code == "r" }.map(\.data), ["100x30", "120x40"])
        XCTAssertEqual(cast.text("o"), r.stdoutText)
        XCTAssertEqual(r.stdoutText, "40 120\r\n")
        XCTAssertEqual((cast.header["execbridge"] as? [String: Any])?["tty"] as? Bool, true)
        let times = cast.events.map(\.time)
        XCTAssertEqual(times, times.sorted())
    }

    func testInputIsNotRecordedByDefault() throws {
        let gateway = try RecordingGateway()
        let r = SessionCases(.ws([.v5]), harness: gateway.harness)
            .run(["sh", "-c", "read secret; echo got"], flags: "input=1&output=1", stdin: Array("hunter2\n".utf8))
        XCTAssertEqual(r.stdoutText, "got\n")
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertEqual(cast.events.filter { $0.code == "i" }.count, 0)
        XCTAssertFalse(try String(contentsOfFile: cast.path, encoding: .utf8).contains("hunter2"))
        XCTAssertEqual(cast.text("o"), "got\n")
    }

    func testRecordInputRecordsWhatTheClientTyped() throws {
        let gateway = try RecordingGateway(recordInput: true)
        let r = SessionCases(.spdy, harness: gateway.harness)
            .run(["sh", "-c", "read line; echo got"], flags: "input=1&output=1", stdin: Array("typed\n".utf8))
        XCTAssertEqual(r.stdoutText, "got\n")
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertEqual(cast.text("i"), "typed\n")
        XCTAssertEqual(cast.text("o"), "got\n")
    }

    func testMaxBytesEndsTheRecordingWithAMarkerAndTheSessionGoesOn() throws {
        let gateway = try RecordingGateway(maxBytes: 4096)
        let r = SessionCases(.h2Prior, harness: gateway.harness)
            .run(["sh", "-c", "for i in $(seq 1 2000); do echo line-$i; done; exit 7"], flags: "output=1")
        XCTAssertEqual(r.exitCode, 7)
        XCTAssertTrue(r.stdoutText.hasSuffix("line-2000\n"))
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertLessThanOrEqual(cast.size, 4096)
        XCTAssertEqual(cast.events.last?.code, "m")
        XCTAssertEqual(cast.events.last?.data, "recording truncated: --record-max-bytes 4096 reached")
        XCTAssertEqual(cast.events.filter { $0.code == "m" }.count, 1)
        XCTAssertTrue(r.stdoutText.hasPrefix(cast.text("o")))
        XCTAssertGreaterThan(cast.size, 4096 - SessionRecorder.markerReserve - 100, "the file fills up to the limit")
    }

    /// `é` is 0xC3 0xA9: the first byte leaves in one chunk, the second a moment later.
    func testMultibyteCharacterSplitAcrossChunks() throws {
        let gateway = try RecordingGateway()
        let r = SessionCases(.spdy, harness: gateway.harness)
            .run(["sh", "-c", "printf 'a\\303'; sleep 0.3; printf '\\251b\\n'; printf '\\377\\n'"], flags: "output=1")
        XCTAssertEqual(r.stdout, [0x61, 0xC3, 0xA9, 0x62, 0x0A, 0xFF, 0x0A])
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertEqual(cast.text("o"), "aéb\n\u{FFFD}\n")
        XCTAssertGreaterThanOrEqual(cast.events.filter { $0.code == "o" }.count, 2)
    }

    /// Written as the session runs: the output is in the file while the session still goes on.
    func testOutputReachesTheFileWhileTheSessionRuns() throws {
        let gateway = try RecordingGateway()
        var seenLive = false
        let run = ExecRun()
        run.onTick = { session in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: gateway.recordDir)) ?? []
            guard let name = names.first,
                  let text = try? String(contentsOfFile: gateway.recordDir + "/" + name, encoding: .utf8),
                  text.contains("\"early\\n\"") else { return }
            seenLive = true
            session.kill()
        }
        run.run(.spdy, port: gateway.port, path: SessionCases.path(["sh", "-c", "echo early; sleep 20"], "output=1"))
        XCTAssertTrue(seenLive)
        XCTAssertEqual(run.ended, .clientGone)
        let cast = try XCTUnwrap(gateway.recordings().first)
        XCTAssertEqual(cast.text("o"), "early\n")
    }

    /// With an upstream backend the gateway records what passed through it, the same way.
    func testSessionsThroughAnUpstreamBackendAreRecorded() throws {
        let dir = NSTemporaryDirectory() + "execbridge-rec-up-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recording = try RecordingSettings(directory: dir).prepared()
        let pair = try UpstreamPair(.h2c, gatewayConfig: { $0.bridge.tap = recording })
        let r = ExecRun(resizes: [TerminalSize(width: 90, height: 20)])
            .run(.ws([.v5]), port: pair.gateway.port, path: SessionCases.path(["sh", "-c", "sleep 0.3; stty size; exit 2"], "output=1&tty=1"), tty: true)
        XCTAssertEqual(r.exitCode, 2)
        XCTAssertEqual(r.stdoutText, "20 90\r\n")
        var names: [String] = []
        let deadline = EventLoop.now() + 10
        repeat {
            names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            if let name = names.first, let cast = try? Cast(path: dir + "/" + name), cast.text("o") == r.stdoutText { break }
            usleep(10_000)
        } while EventLoop.now() < deadline
        XCTAssertEqual(names.count, 1, "\(names)")
        let cast = try Cast(path: dir + "/" + XCTUnwrap(names.first))
        XCTAssertEqual(cast.text("o"), "20 90\r\n")
        XCTAssertEqual(cast.header["width"] as? Int, 90)
        XCTAssertEqual(cast.header["height"] as? Int, 20)
        XCTAssertEqual((cast.header["execbridge"] as? [String: Any])?["generation"] as? String, "WebSocket")
    }

    func testUTF8CarryVectors() {
        var carry = UTF8Carry()
        func feed(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { carry.decode($0) } }
        XCTAssertEqual(feed([0x41, 0xE2, 0x82]), "A")
        XCTAssertEqual(feed([0xAC, 0xF0, 0x9F]), "€")
        XCTAssertEqual(feed([0x98]), "")
        XCTAssertEqual(feed([0x80, 0x42]), "😀B")
        XCTAssertEqual(feed([0xFF, 0x80, 0x43]), "\u{FFFD}\u{FFFD}C")
        XCTAssertEqual(feed([0xC3]), "")
        XCTAssertEqual(carry.flush(), "\u{FFFD}")
        XCTAssertEqual(carry.flush(), "")
    }

    func testFileNamesKeepOnlySafeCharacters() {
        XCTAssertEqual(RecordingFileName.safe("alice"), "alice")
        XCTAssertEqual(RecordingFileName.safe("../../etc/passwd"), "_._.._etc_passwd")
        XCTAssertEqual(RecordingFileName.safe(".hidden"), "_hidden")
        XCTAssertEqual(RecordingFileName.safe(""), "_")
        XCTAssertEqual(RecordingFileName.safe(String(repeating: "x", count: 300)).count, 64)
        XCTAssertEqual(RecordingFileName.stamp(1_796_524_619), "20261206T023659Z")
    }

    /// `execbridge serve` as a user runs it: a directory it cannot record into stops it before it listens.
    func testServeRefusesToStartWithoutAUsableRecordDir() throws {
        let binary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent().appendingPathComponent("execbridge")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "execbridge not built")
        let file = NSTemporaryDirectory() + "execbridge-rec-serve-\(getpid())"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        for (arguments, message) in [
            (["--record-dir", file], "Error: --record-dir \(file): not a directory"),
            (["--record-input"], "Error: --record-input needs --record-dir"),
            (["--record-dir", NSTemporaryDirectory(), "--record-max-bytes", "100"], "Error: --record-max-bytes must be at least 4096"),
        ] {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(process.terminationStatus, 64, "\(arguments): \(text)")
            XCTAssertTrue(text.contains(message), "\(arguments): \(text)")
            XCTAssertFalse(text.contains("listening"), text)
        }
    }

    func testUnusableDirectoryRefusesToStart() throws {
        let file = NSTemporaryDirectory() + "execbridge-rec-file-\(getpid())"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        XCTAssertThrowsError(try RecordingSettings(directory: file).prepared()) { error in
            XCTAssertEqual("\(error)", "--record-dir \(file): not a directory")
        }
        XCTAssertThrowsError(try RecordingSettings(directory: file + "/sub").prepared()) { error in
            XCTAssertEqual("\(error)", "--record-dir \(file)/sub: cannot create it: Not a directory")
        }
        var small = RecordingSettings(directory: NSTemporaryDirectory())
        small.maxBytes = 100
        XCTAssertThrowsError(try small.prepared()) { error in
            XCTAssertEqual("\(error)", "--record-max-bytes must be at least 4096")
        }
    }
}
