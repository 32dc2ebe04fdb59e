@testable import ExecBridge
import Foundation
import Glibc
import Reactor
import XCTest

/// The gateway at its descriptor limit (EMFILE): it must not spin on accept() nor flood its log,
/// and it serves again once descriptors are free.
final class FdLimitTests: XCTestCase {
    private var binary: String {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent().appendingPathComponent("execbridge").path
    }

    /// CPU seconds (user + system) the process has used so far.
    private func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, utime 14 and stime 15 (1-based over the whole line).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func testAtTheDescriptorLimitTheGatewayPausesLogsOnceAndRecovers() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "execbridge not built")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "prlimit missing")
        let logPath = NSTemporaryDirectory() + "fdlimit-\(getpid()).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=64", "--", binary, "serve", "--listen", "127.0.0.1:0", "--threads", "2"]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }

        var port: UInt16?
        let deadline = EventLoop.now() + 10
        while port == nil, EventLoop.now() < deadline {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = UInt16(text[range].split(separator: ":")[1])
            } else {
                usleep(20_000)
            }
        }
        let gatewayPort = try XCTUnwrap(port, "no listening line")

        // More connections than descriptors: the kernel's queue holds the rest.
        var sockets: [RawSocket] = []
        for _ in 0..<120 { sockets.append(try RawSocket(port: gatewayPort, timeout: 1)) }
        var logText = ""
        let logDeadline = EventLoop.now() + 10
        while !logText.contains("out of file descriptors"), EventLoop.now() < logDeadline {
            usleep(50_000)
            logText = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        XCTAssertTrue(logText.contains("out of file descriptors"), logText)

        // No busy loop: well under half a core over a second at the limit.
        let before = try XCTUnwrap(cpuSeconds(process.processIdentifier))
        let start = EventLoop.now()
        sleep(1)
        let used = try XCTUnwrap(cpuSeconds(process.processIdentifier)) - before
        XCTAssertLessThan(used / (EventLoop.now() - start), 0.5, "CPU while at the descriptor limit")

        // Free the descriptors: the gateway serves again.
        sockets.removeAll()
        var healthy = false
        let healthDeadline = EventLoop.now() + 20
        while !healthy, EventLoop.now() < healthDeadline {
            if let socket = try? RawSocket(port: gatewayPort, timeout: 2) {
                socket.send("GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
                healthy = socket.readResponse()?.status == 200
            }
            if !healthy { usleep(100_000) }
        }
        XCTAssertTrue(healthy, "/healthz after descriptors were freed")

        let lines = ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n")
        XCTAssertLessThan(lines.count, 20, lines.suffix(5).joined(separator: "\n"))
        XCTAssertLessThanOrEqual(lines.filter { $0.contains("out of file descriptors") }.count, 2)
    }
}
