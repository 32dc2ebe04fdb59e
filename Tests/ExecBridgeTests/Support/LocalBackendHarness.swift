@testable import ExecBridge
import ExecModel
import Glibc
import Reactor
import Synchronization

/// Records what a local session emits, in order, and lets a test react to data and drains.
final class LocalBackendRecorder: SessionEndpointDelegate {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    /// "data:stdout", "halfClose:stderr", "exit"… (consecutive data events of one channel folded).
    var log: [String] = []
    var status: ExecStatus?
    var eventsAfterExit = 0
    var drains = 0
    var largestChunk = 0
    var ended: EndReason?
    /// The child's pid, filled by `LocalBackendHarness.runToExit`.
    var pid: pid_t?
    /// Called for every data event instead of collecting the bytes when set.
    var onData: ((Channel, UnsafeRawBufferPointer) -> Void)?
    var onDrain: (() -> Void)?

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        if status != nil { eventsAfterExit += 1 }
        switch event {
        case .data(let channel, let bytes):
            largestChunk = max(largestChunk, bytes.count)
            if log.last != "data:\(channel)" { log.append("data:\(channel)") }
            if let onData {
                onData(channel, bytes)
            } else if channel == .stdout {
                stdout.append(contentsOf: bytes)
            } else if channel == .stderr {
                stderr.append(contentsOf: bytes)
            }
        case .halfClose(let channel):
            log.append("halfClose:\(channel)")
        case .resize:
            log.append("resize")
        case .exit(let status):
            log.append("exit")
            self.status = status
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        drains += 1
        onDrain?()
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        ended = reason
    }
}

/// Drives one event loop on the test's thread.
final class LocalBackendHarness {
    let loop = EventLoop()

    /// A session not yet released (its child not reaped) or a session sweep scheduled on this loop
    /// keeps itself and the loop alive: drive the loop until none is left, or the loop would be
    /// leaked with them. Only this loop's: another test's gateway has its own.
    func finish() {
        run(until: { loop.selfRetained == 0 }, limit: 30)
    }

    deinit { finish() }

    /// Runs the loop until `condition` holds; false if `limit` seconds pass first (a guard against
    /// a hung test, not a timing assertion).
    @discardableResult
    func run(until condition: () -> Bool, limit: Double = 60) -> Bool {
        var expired = false
        let guardTimer = LoopTimer(loop: loop, after: limit) { expired = true }
        defer { guardTimer.cancel() }
        while !condition() {
            if expired { return false }
            loop.runOnce()
        }
        return true
    }

    /// Runs the loop for `seconds` (lets a paused reader stay paused a while).
    func run(for seconds: Double) {
        var done = false
        let timer = LoopTimer(loop: loop, after: seconds) { done = true }
        while !done { loop.runOnce() }
        withExtendedLifetime(timer) {}
    }

    static func request(_ command: [String], stdin: Bool = false, stdout: Bool = true, stderr: Bool = true,
                        tty: Bool = false, target: ExecTarget = ExecTarget(namespace: "default", pod: "web", container: "app"),
                        kind: ExecRequest.Kind = .exec) -> ExecRequest {
        ExecRequest(kind: kind, target: target, command: command, stdin: stdin, stdout: stdout, stderr: stderr, tty: tty,
                    pathForm: .kubelet, path: "/exec/\(target.namespace)/\(target.pod)/\(target.container ?? "")")
    }

    /// Starts `request` on a backend and runs it to its `.exit`.
    func runToExit(_ request: ExecRequest, backend: LocalBackend = LocalBackend(inventory: nil),
                   recorder: LocalBackendRecorder = LocalBackendRecorder()) -> LocalBackendRecorder {
        let session = backend.startProcessSession(request, on: loop, delegate: recorder)
        run(until: { recorder.status != nil })
        recorder.pid = session.pid
        return recorder
    }
}

/// Facts about processes and descriptors, read from /proc.
enum LocalBackendProcFS {
    static func processExists(_ pid: pid_t) -> Bool {
        access("/proc/\(pid)", F_OK) == 0
    }

    /// True when `pid` is not a child of ours waiting to be reaped (waitpid finds no such child).
    static func isReaped(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD
    }

    static func openDescriptorCount() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return count
    }

    /// Polls until this process holds at most `count` descriptors; returns the last count seen.
    /// The table is the whole process's: another test's thread that still closes a lingering
    /// socket (or opens one) must neither fail nor mask the check, so a leak is a count that
    /// stays above `count` until the deadline, and one closed elsewhere does not matter.
    static func descriptorCount(fallingTo count: Int, limit: Double = 10) -> Int {
        let deadline = EventLoop.now() + limit
        var now = openDescriptorCount()
        while now > count, EventLoop.now() < deadline {
            usleep(20_000)
            now = openDescriptorCount()
        }
        return now
    }
}
