import Foundation
import Glibc
import XCTest

/// The built `execbridge serve` binary as a child of the test, with its listening port (read
/// from its first log lines) and what it logged until then.
final class ServeProcess {
    let process: Process
    let port: UInt16
    private(set) var startupLog = ""
    private let errors = Pipe()

    static var binary: URL {
        // The test executable sits beside the products of the same build.
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent().appendingPathComponent("execbridge")
    }

    var pid: pid_t { process.processIdentifier }

    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.binary.path), "execbridge not built")
        process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardError = errors
        try process.run()
        var text = ""
        var found: UInt16?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
               let port = UInt16(text[range].split(separator: ":")[1]), port != 0 {
                found = port
                break
            }
        }
        startupLog = text
        guard let found else {
            process.terminate()
            throw XCTSkip("no listening line: \(text)")
        }
        port = found
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The process's command line as every local user sees it in /proc.
    var visibleCommandLine: String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
