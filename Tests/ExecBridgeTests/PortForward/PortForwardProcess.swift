import Foundation
import Glibc
import Reactor
import Synchronization
import XCTest

/// `execbridge port-forward` as a child of the test: the local ports it printed ("Forwarding from
/// 127.0.0.1:L -> R"), and its stderr. Killed when dropped, so a failed test leaves nothing behind.
final class PortForwardProcess {
    let process = Process()
    /// Remote port → local port, from the "Forwarding from" lines.
    private(set) var localPorts: [UInt16: UInt16] = [:]
    private var startupText = ""
    private let laterText = LockedBox("")
    private let output = Pipe()
    private let errors = Pipe()
    private let errorText = LockedBox("")

    init(_ arguments: [String], expecting remotes: [UInt16]) throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServeProcess.binary.path), "execbridge not built")
        process.executableURL = ServeProcess.binary
        process.arguments = ["port-forward"] + arguments
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let collected = errorText
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.update { $0 += String(decoding: data, as: UTF8.self) }
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, localPorts.count < remotes.count, process.isRunning {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            startupText += String(decoding: data, as: UTF8.self)
            for line in startupText.split(separator: "\n") where line.hasPrefix("Forwarding from 127.0.0.1:") {
                let parts = line.dropFirst("Forwarding from 127.0.0.1:".count).split(separator: " ")
                if parts.count == 3, let local = UInt16(parts[0]), let remote = UInt16(parts[2]) { localPorts[remote] = local }
            }
        }
        guard localPorts.count == remotes.count else {
            process.terminate()
            process.waitUntilExit()
            throw PortForwardProcessError.notListening(startupText + stderrText)
        }
        // The rest of stdout ("Handling connection for …") is collected so the child never blocks on it.
        let later = laterText
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            later.update { $0 += String(decoding: data, as: UTF8.self) }
        }
    }

    var stderrText: String { errorText.value }
    var stdoutText: String { startupText + laterText.value }

    /// Polls stderr until it contains `text` (or `seconds` pass).
    func waitForStderr(containing text: String, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stderrText.contains(text) { return true }
            usleep(10_000)
        }
        return stderrText.contains(text)
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        errors.fileHandleForReading.readabilityHandler = nil
        output.fileHandleForReading.readabilityHandler = nil
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

enum PortForwardProcessError: Error { case notListening(String) }

/// Sends `bytes` through a forwarded local port, half-closes, and reads until the far side ends.
func exchange(throughLocalPort port: UInt16, _ bytes: [UInt8], timeout: Double = 20) throws -> [UInt8] {
    let socket = try RawSocket(port: port, timeout: timeout)
    let fd = socket.fd
    // The socket closes only after the sender is done: its descriptor number must not be reused
    // under it by the next exchange (the far side may end before all is sent).
    let sent = DispatchSemaphore(value: 0)
    defer { sent.wait() }
    let sender = Thread {
        defer { sent.signal() }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            offset += n
        }
        shutdown(fd, Int32(SHUT_WR))
    }
    sender.start()
    return withExtendedLifetime(socket) { socket.readAll() }
}

/// An EventLoop run by a thread of its own (a fake server the CLI child talks to).
final class LoopThread: @unchecked Sendable {
    private let stopped = LockedBox(false)
    private let done = DispatchSemaphore(value: 0)

    /// `setup` runs on the loop's thread and returns what must live as long as the loop.
    init(_ setup: @escaping @Sendable (EventLoop) throws -> AnyObject) throws {
        let ready = DispatchSemaphore(value: 0)
        let failure = LockedBox<String?>(nil)
        let stopped = self.stopped
        let done = self.done
        Thread {
            let loop = EventLoop()
            var kept: AnyObject?
            do { kept = try setup(loop) } catch { failure.update { $0 = "\(error)" } }
            let tick = LoopTimer(loop: loop, after: 0.01, repeats: true) {}
            ready.signal()
            while kept != nil, !stopped.value { loop.runOnce() }
            tick.cancel()
            kept = nil
            done.signal()
        }.start()
        ready.wait()
        if let message = failure.value { throw PortForwardProcessError.notListening(message) }
    }

    deinit {
        stopped.update { $0 = true }
        done.wait()
    }
}

/// A value shared between threads of a test, behind a lock.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T

    init(_ value: T) { stored = value }

    var value: T { lock.withLock { stored } }

    func update(_ change: (inout T) -> Void) { lock.withLock { change(&stored) } }
}
