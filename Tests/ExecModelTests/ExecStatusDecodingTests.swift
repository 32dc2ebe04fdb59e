import XCTest
import ExecModel

final class ExecStatusDecodingTests: XCTestCase {
    func testRoundTripEveryVersion() {
        let statuses: [ExecStatus] = [
            .success, .exited(3), .exited(255), .signaled(9), .signaled(15),
            .internalError("container not found (\"web\") <&>"),
            .failure(message: "stream idle too long", reason: "Timeout", code: 504),
        ]
        for version in ChannelVersion.allCases {
            for status in statuses {
                if !version.hasStatusJSON, case .failure(_, let reason, _) = status, reason != "InternalError" {
                    continue // v1–v3 text carries no reason or code
                }
                XCTAssertEqual(ExecStatus.decode(status.encoded(for: version), version: version), status,
                               "\(status) over \(version)")
            }
        }
    }

    func testKubeletStatusBytes() {
        let exit = #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        XCTAssertEqual(ExecStatus.decode(Array(exit.utf8), version: .v4),
                       .exitCode(3, detail: "error executing command [sh -c exit 3], exit code 3"))
        let internalError = #"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: \u003cnil\u003e \u0026 more","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: failed to exec in container: \u003cnil\u003e \u0026 more"}]},"code":500}"#
        XCTAssertEqual(ExecStatus.decode(Array(internalError.utf8), version: .v5),
                       .internalError("error executing command in container: failed to exec in container: <nil> & more"))
        XCTAssertEqual(ExecStatus.decode(Array(#"{"metadata":{},"status":"Success"}"#.utf8), version: .v4), .success)
        XCTAssertEqual(ExecStatus.decode(Array(#" {"status":"Failure","message":"nope","reason":"NotFound","code":404}"#.utf8),
                                         version: .v4),
                       .failure(message: "nope", reason: "NotFound", code: 404))
        XCTAssertEqual(ExecStatus.decode(Array(#"{"status":"Failure","message":"nope"}"#.utf8), version: .v4),
                       .failure(message: "nope", reason: "", code: 500))
    }

    func testBrokenV4Statuses() {
        XCTAssertEqual(ExecStatus.decode(Array("oops".utf8), version: .v4), .internalError("unparseable status: oops"))
        XCTAssertEqual(ExecStatus.decode([], version: .v4), .internalError("unparseable status: "))
        XCTAssertEqual(ExecStatus.decode(Array(#"{"status":"Weird"}"#.utf8), version: .v4),
                       .internalError("error stream protocol error: unknown error"))
        XCTAssertEqual(ExecStatus.decode(Array(#"{"status":"Failure","reason":"NonZeroExitCode"}"#.utf8), version: .v4),
                       .internalError("error stream protocol error: no ExitCode cause given"))
        let bigCode = #"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"256"}]}}"#
        XCTAssertEqual(ExecStatus.decode(Array(bigCode.utf8), version: .v4),
                       .internalError("error stream protocol error: invalid exit code value \"256\""))
    }

    func testPlainTextStatuses() {
        XCTAssertEqual(ExecStatus.decode([], version: .v1), .success)
        XCTAssertEqual(ExecStatus.decode(Array("command terminated with non-zero exit code: exit status 42".utf8),
                                         version: .v2), .exitCode(42, detail: "exit status 42"))
        XCTAssertEqual(ExecStatus.decode(Array("command terminated with non-zero exit code: signal: killed".utf8),
                                         version: .v3), .exitCode(137, detail: "signal: killed"))
        XCTAssertEqual(ExecStatus.decode(Array("command terminated with non-zero exit code: exit status 300".utf8),
                                         version: .v3),
                       .internalError("command terminated with non-zero exit code: exit status 300"))
        XCTAssertEqual(ExecStatus.decode(Array("container not running".utf8), version: .v1),
                       .internalError("container not running"))
    }

    /// Found by Fuzz/FuzzExecJSON: a message starting with a combining mark (U+06EC after the
    /// prefix's space) made String.hasPrefix miss the prefix (it compares whole characters), so every
    /// decode/encode round added one more "Internal error occurred: ". Go compares bytes.
    func testPrefixesMatchByteForByteBeforeCombiningMarks() {
        let text: [UInt8] = [0xDB, 0xAC, 0x2A] // U+06EC then "*", as the fuzzer wrote it
        for version in [ChannelVersion.v1, .v2, .v3] {
            let status = ExecStatus.decode(text, version: version)
            let once = status.encoded(for: version)
            XCTAssertEqual(once, Array("Internal error occurred: ".utf8) + text)
            XCTAssertEqual(ExecStatus.decode(once, version: version), status)
        }
        let json = Array(#"{"status":"Failure","message":"Internal error occurred: \#u{6EC}*","reason":"InternalError","code":500}"#.utf8)
        XCTAssertEqual(ExecStatus.decode(json, version: .v5), .internalError("\u{6EC}*"))
    }
}
