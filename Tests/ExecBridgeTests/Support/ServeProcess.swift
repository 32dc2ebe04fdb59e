import Foundation
import Glibc
import XCTest

/// The built `execbridge serve` binary as a child of the test, with its listening port (read
/// from its first log lines) and what it logged until then.
final class ServeProcess {
    let process: Process
    let port: UInt16
    private(set) var startupLog = ""
    let errors = Pipe()

    static var binary: URL {
        // The test executable sits beside the products of the same build.
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent().appendingPathComponent("execbridge")
    }

    var pid: pid_t { process.processIdentifier }

    /// `onTerminal`: the gateway runs on a pseudo-terminal of its own (util-linux `script`), as when
    /// an operator starts it from a shell; its log then arrives through script's stdout.
    init(_ arguments: [String], environment: [String: String]? = nil, onTerminal: Bool = false) throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.binary.path), "execbridge not built")
        process = Process()
        if onTerminal {
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux script missing")
            let command = ([Self.binary.path] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qfec", "exec " + command, "/dev/null"]
            process.standardOutput = errors
            process.standardInput = Pipe()
        } else {
            process.executableURL = Self.binary
            process.arguments = arguments
        }
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
        guard process.isRunning else { return }
        // Under script the gateway is script's child: end it first.
        for child in childPIDs() { kill(child, SIGKILL) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The processes whose parent is the started one.
    func childPIDs() -> [pid_t] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == self.pid ? pid : nil
        }
    }

    /// The process's command line as every local user sees it in /proc.
    var visibleCommandLine: String {
        let data = ProcessTags.readProcFile("/proc/\(pid)/cmdline") ?? []
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
