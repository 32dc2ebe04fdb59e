@testable import ExecBridge
import Foundation
import XCTest

/// What a user reads when the command line refuses something: the real problem, the option to
/// fix, the right help page, and the documented exit status (64 usage, 1 cannot start).
final class CommandLineTruthTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var out: String
        var err: String
    }

    private func run(_ arguments: [String], timeout: Double = 20) throws -> Outcome {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServeProcess.binary.path), "execbridge not built")
        let process = Process()
        process.executableURL = ServeProcess.binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(arguments) still running after \(timeout)s (a gateway started?)")
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       out: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       err: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func testMalformedListenAddressesSayWhatIsMalformed() throws {
        let cases = [("garbage", "has no port"), ("127.0.0.1:99999", "port \"99999\" is not a number from 0 to 65535"),
                     ("127.0.0.1", "has no port"), ("::1:8080", "brackets")]
        for (address, expected) in cases {
            let outcome = try run(["serve", "--listen", address])
            XCTAssertEqual(outcome.status, 64, address)
            XCTAssertTrue(outcome.err.contains("--listen \(address)"), outcome.err)
            XCTAssertTrue(outcome.err.contains(expected), outcome.err)
            XCTAssertFalse(outcome.err.contains("loopback"), outcome.err)
            XCTAssertTrue(outcome.err.contains("'execbridge serve --help'"), outcome.err)
        }
    }

    func testBareExecbridgePrintsHelpAndStartsNothing() throws {
        let outcome = try run([], timeout: 10)
        XCTAssertEqual(outcome.status, 0)
        XCTAssertTrue(outcome.out.contains("USAGE: execbridge <subcommand>"), outcome.out)
        XCTAssertTrue(outcome.out.contains("serve") && outcome.out.contains("exec"), outcome.out)
        XCTAssertFalse(outcome.err.contains("listening"), outcome.err)
    }

    func testVersionFlagAndSubcommandAgree() throws {
        let flag = try run(["--version"])
        let command = try run(["version"])
        XCTAssertEqual(flag.status, 0)
        XCTAssertEqual(command.status, 0)
        XCTAssertEqual(flag.out, "execbridge \(ExecBridgeVersion.string)\n")
        XCTAssertEqual(flag.out, command.out)
    }

    func testServeHelpShowsDefaultsGroupsAndOnePlaceholderStyle() throws {
        // Help wraps at 80 columns: compare with the whitespace folded.
        let help = try run(["serve", "--help"]).out.replacing(/\s+/, with: " ")
        for group in ["LISTENING:", "BACKEND:", "SESSIONS:", "LIMITS:", "SECURITY:", "LOGGING:"] {
            XCTAssertTrue(help.contains(group), "\(group) missing:\n\(help)")
        }
        for text in ["(default: 127.0.0.1:8080)", "(default: 262144)", "(default: local)", "(default: text)",
                     "--listen <host:port>", "--token-file <file>", "--inventory <file>", "--tls-cert <file>"] {
            XCTAssertTrue(help.contains(text), "\(text) missing:\n\(help)")
        }
        // Every placeholder is lowercase: no <FILE>, no <tls-cert> named after the option.
        let placeholders = help.matches(of: /<([^>]+)>/).map { String($0.output.1) }
        XCTAssertFalse(placeholders.isEmpty)
        for placeholder in placeholders {
            XCTAssertEqual(placeholder, placeholder.lowercased(), help)
            XCTAssertFalse(["tls-cert", "channel-budget", "listen", "max-sessions"].contains(placeholder), placeholder)
        }
        let exec = try run(["exec", "--help"]).out
        for placeholder in exec.matches(of: /<([^>]+)>/).map({ String($0.output.1) }) {
            XCTAssertEqual(placeholder, placeholder.lowercased(), exec)
        }
    }

    func testNegativeNumbersAreRefusedForWhatTheyAre() throws {
        for arguments in [["serve", "--channel-budget", "-5"], ["serve", "--channel-budget=-5"]] {
            let outcome = try run(arguments)
            XCTAssertEqual(outcome.status, 64)
            XCTAssertTrue(outcome.err.contains("--channel-budget must be a positive number"), outcome.err)
            XCTAssertFalse(outcome.err.contains("Missing value"), outcome.err)
        }
        let outcome = try run(["serve", "--idle-timeout", "-1"])
        XCTAssertEqual(outcome.status, 64)
        XCTAssertTrue(outcome.err.contains("--idle-timeout must be a positive number of seconds"), outcome.err)
    }

    func testFileErrorsNameTheOptionAndTheServeHelp() throws {
        let outcome = try run(["serve", "--listen", "127.0.0.1:0", "--token-file", "/nope.csv"])
        XCTAssertEqual(outcome.status, 64)
        XCTAssertTrue(outcome.err.contains("--token-file: cannot open /nope.csv"), outcome.err)
        XCTAssertTrue(outcome.err.contains("'execbridge serve --help'"), outcome.err)
        XCTAssertFalse(outcome.err.contains("'execbridge --help'"), outcome.err)
        let policy = try run(["serve", "--listen", "127.0.0.1:0", "--policy", "/nope.yaml"])
        XCTAssertEqual(policy.status, 64)
        XCTAssertTrue(policy.err.contains("--policy: "), policy.err)
    }

    func testExecUsageErrorsExit64WithTheExecHelp() throws {
        for arguments in [["exec", "--protocol", "foo", "http://127.0.0.1:1/exec/a/b/c", "--", "true"],
                          ["exec", "http://127.0.0.1:1/exec/a/b/c"],
                          ["exec", "--cert", "/x", "http://127.0.0.1:1/exec/a/b/c", "--", "true"]] {
            let outcome = try run(arguments)
            XCTAssertEqual(outcome.status, 64, "\(arguments): \(outcome.err)")
            XCTAssertTrue(outcome.err.contains("'execbridge exec --help'"), outcome.err)
        }
    }

    func testASecondGatewayOnTheSameAddressRefusesToStartAndTheFirstStillServes() throws {
        let first = try ServeProcess(["serve", "--listen", "127.0.0.1:0", "--threads", "2"])
        let address = "127.0.0.1:\(first.port)"
        let second = try run(["serve", "--listen", address, "--threads", "2"])
        XCTAssertEqual(second.status, 1, second.err)
        XCTAssertTrue(second.err.contains("already listens on \(address)"), second.err)
        XCTAssertTrue(second.err.contains("process \(first.pid)"), second.err)
        XCTAssertTrue(second.err.contains("--listen"), second.err)
        // A wildcard address overlaps too.
        let wildcard = try run(["serve", "--listen", "0.0.0.0:\(first.port)", "--allow-anonymous"])
        XCTAssertEqual(wildcard.status, 1, wildcard.err)
        XCTAssertTrue(wildcard.err.contains("already listens on 0.0.0.0:\(first.port)"), wildcard.err)
        // The first one serves every request, on every one of its threads' listeners.
        for _ in 0..<8 {
            let health = try RawSocket(port: first.port)
            health.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            XCTAssertEqual(health.readResponse()?.status, 200)
        }
        XCTAssertTrue(first.process.isRunning)
    }

    func testProcNetTCPRowsParse() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0
               1: 0100007F:1F90 0100007F:C000 01 00000000:00000000 00:00000000 00000000  1000        0 999 1 0
            """
        let sockets = ListenConflict.parse(table)
        XCTAssertEqual(sockets, [ListenConflict.Socket(address: [127, 0, 0, 1], port: 8080, inode: 12345)])
        XCTAssertEqual(sockets.first?.socketAddress?.description, "127.0.0.1:8080")
        XCTAssertTrue(sockets[0].overlaps(ListenConflict.Socket(address: [0, 0, 0, 0], port: 8080, inode: 1)))
        XCTAssertFalse(sockets[0].overlaps(ListenConflict.Socket(address: [127, 0, 0, 2], port: 8080, inode: 1)))
    }
}
