@testable import ExecBridge
import ExecModel
import Foundation
import Reactor
import XCTest

/// The executable as a user runs it: `execbridge serve`, `execbridge version`, signals.
final class ServeCommandTests: XCTestCase {
    private var binary: URL {
        // The test executable sits beside the products of the same build.
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent().appendingPathComponent("execbridge")
    }

    private func start(_ arguments: [String]) throws -> (Process, Pipe, UInt16) {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "execbridge not built")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // The first log line names the bound address.
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let port = UInt16(text[range].split(separator: ":")[1])!
                return (process, errors, port)
            }
        }
        process.terminate()
        throw XCTSkip("no listening line: \(text)")
    }

    func testVersionPrintsTheVersion() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "execbridge not built")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["version"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       "execbridge \(ExecBridgeVersion.string)\n")
    }

    func testBadOptionsAreRefusedWithAMessage() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "execbridge not built")
        for arguments in [["serve", "--listen", "nonsense"], ["serve", "--log-format", "xml"], ["serve", "--backend", "ftp://x"]] {
            let process = Process()
            process.executableURL = binary
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            XCTAssertNotEqual(process.terminationStatus, 0, "\(arguments)")
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertFalse(text.isEmpty, "\(arguments)")
        }
    }

    func testSIGTERMLetsTheRunningSessionFinishThenExitsZero() throws {
        let (process, _, port) = try start(["serve", "--listen", "127.0.0.1:0", "--threads", "2", "--log-format", "json"])
        defer { if process.isRunning { process.terminate() } }
        let health = try RawSocket(port: port)
        health.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(health.readResponse()?.status, 200)

        // A session that outlives the signal: it must still finish with its output and status.
        let run = ExecRun()
        var signalled = false
        run.onTick = { r in
            if !signalled && r.isReady {
                signalled = true
                kill(process.processIdentifier, SIGTERM)
            }
        }
        run.run(.spdy, port: port, path: SessionCases.path(["sh", "-c", "sleep 0.5; echo done"]))
        XCTAssertTrue(signalled)
        XCTAssertEqual(run.stdoutText, "done\n")
        XCTAssertEqual(run.status, .success)

        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "gateway still running after SIGTERM and the last session")
        XCTAssertEqual(process.terminationStatus, 0)
        // No new connections after the drain began.
        XCTAssertThrowsError(try RawSocket(port: port, timeout: 1))
    }
}

/// Starting and stopping a gateway with sessions leaves no descriptor behind.
final class GatewayLifecycleTests: XCTestCase {
    private func openDescriptors() -> Int {
        LocalBackendProcFS.openDescriptorCount()
    }

    func testNoDescriptorLeaksAfterSessionsAndShutdown() throws {
        // One warm-up so that lazily opened process-wide descriptors are not counted.
        do {
            let harness = try GatewayHarness()
            ExecRun().run(.spdy, port: harness.port, path: SessionCases.path(["true"]))
        }
        let before = openDescriptors()
        do {
            let harness = try GatewayHarness(threads: 2)
            for wire in [ExecRun.Wire.spdy, .h2Prior, .h2Upgrade] {
                let r = ExecRun(stdin: Array("x".utf8)).run(wire, port: harness.port,
                                                          path: SessionCases.path(["cat"], "input=1&output=1&error=1"))
                XCTAssertEqual(r.stdoutText, "x")
            }
            let tty = ExecRun().run(.spdy, port: harness.port, path: SessionCases.path(["tty"], "output=1&tty=1"), tty: true)
            XCTAssertTrue(tty.stdoutText.hasPrefix("/dev/pts/"))
        }
        // Lingering sockets close within the linger time.
        XCTAssertLessThanOrEqual(LocalBackendProcFS.descriptorCount(fallingTo: before, limit: 10), before)
    }
}

extension ServeCommandTests {
    func testDrainTimeoutEndsSessionsAndLeavesNoProcess() throws {
        let marker = "\(Int.random(in: 100_000...999_999))"
        let (process, _, port) = try start(["serve", "--listen", "127.0.0.1:0", "--drain-timeout", "0.5"])
        defer { if process.isRunning { process.terminate() } }
        let run = ExecRun()
        var signalled = false
        run.onTick = { r in
            if !signalled && !processes(containing: "sleep \(marker)").isEmpty {
                signalled = true
                kill(process.processIdentifier, SIGTERM)
            }
        }
        run.run(.spdy, port: port, path: SessionCases.path(["sleep", marker], "input=1&output=1&error=1"), timeout: 20)
        XCTAssertTrue(signalled)
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(process.isRunning)
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(processes(containing: "sleep \(marker)"), [], "a child outlived the gateway")
    }
}
