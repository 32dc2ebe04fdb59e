import Foundation
import Glibc

extension ServeProcess {
    /// Reads the gateway's log (after the startup lines) until `text` appears or the deadline
    /// passes; returns everything read so far.
    func log(waitingFor text: String, timeout: Double = 10) -> String {
        let fd = errors.fileHandleForReading.fileDescriptor
        var seen = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !seen.contains(text), Date() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            seen += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return seen
    }
}

/// `execbridge exec` run as a user runs it, with its stdin a pipe the test writes.
final class ExecProcess {
    let process = Process()
    let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = ServeProcess.binary
        process.arguments = ["exec"] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Reads stdout until it contains `text` (a command's "I am running" line).
    func waitForOutput(_ text: String, timeout: Double = 15) -> Bool {
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        while !earlyOutput.contains(text), Date() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            earlyOutput += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return earlyOutput.contains(text)
    }

    private var earlyOutput = ""

    /// Waits for the exit (at most `timeout`): status, everything on stdout, stderr.
    func finish(timeout: Double = 30) -> (status: Int32, out: String, err: String) {
        try? input.fileHandleForWriting.close()
        // Drain while waiting: a full pipe would stall the command.
        var out = earlyOutput
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 100) > 0 {
                var buffer = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                out += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, out, err)
    }

    static func run(_ arguments: [String], timeout: Double = 30) throws -> (status: Int32, out: String, err: String) {
        try ExecProcess(arguments).finish(timeout: timeout)
    }
}
