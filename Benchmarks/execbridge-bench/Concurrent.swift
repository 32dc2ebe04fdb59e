import ExecBridge
import ExecModel
import Glibc
import Reactor

/// `concurrent`: N sessions open at once on one loop, for the memory rows of scripts/bench.
///
/// With `--sleep S` every session runs `sleep S`; once all are set up (every channel answered) it prints
/// `held=…` and keeps them open until the file `--until` exists, so that the caller can read the server's
/// RSS with N idle sessions. With `--bytes B` every session prints B bytes and it prints `done=…` when all
/// have ended (a burst of streaming sessions; the caller reads the server's peak and after-burst RSS).
/// Set-ups are started at most `--inflight` at a time, so that the listener's backlog never overflows.
enum ConcurrentSessions {
    static func run(_ args: Arguments) throws {
        let wire = try wireArgument(args)
        let port = try portArgument(args)
        let count = try args.int("count", default: 1000)
        let inflight = try args.int("inflight", default: 64)
        let bytes = try args.size("bytes", default: 0)
        let sleepSeconds = try args.int("sleep", default: 600)
        let until = args.optionalString("until")
        guard count > 0, inflight > 0 else { throw UsageError("--count and --inflight want positive numbers") }
        let command = bytes > 0 ? ["head", "-c", String(bytes), "/dev/zero"] : ["sleep", String(sleepSeconds)]
        // stdout only: one pipe fewer per session on the server, so 5,000 sessions fit the descriptor limit.
        let options = clientOptions(port: port, command: command, stderr: false)
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        let loop = EventLoop()

        var clients: [(delegate: CountingDelegate, started: StartedClient)] = []
        // Per session: still setting up, set up (ready), or over (counted once).
        enum Phase { case settingUp, ready, over }
        var phases: [Phase] = []
        var settingUp = 0
        var readyCount = 0
        var endedCount = 0
        var failures = 0
        var open = 0
        var peakOpen = 0
        var firstFailure: String?
        func fail(_ reason: String) {
            failures += 1
            if firstFailure == nil { firstFailure = reason }
        }
        // Scans every session, so it runs once per tick rather than once per loop turn: a burst turns the loop
        // hundreds of thousands of times.
        func settle() {
            for i in phases.indices where phases[i] != .over {
                let (delegate, started) = clients[i]
                let over = delegate.status != nil || delegate.ended != nil
                if phases[i] == .settingUp && (started.isReady() || over) {
                    settingUp -= 1
                    phases[i] = .ready
                    if bytes == 0 && !over { readyCount += 1 }
                }
                guard over else { continue }
                phases[i] = .over
                open -= 1
                if bytes == 0 {
                    fail("ended while held: \(delegate.ended?.rawValue ?? "status")")
                    continue
                }
                endedCount += 1
                if let wrong = started.mismatch() {
                    fail(wrong)
                } else if delegate.status?.exitCode != 0 || delegate.stdoutBytes != bytes {
                    fail("got \(delegate.stdoutBytes) bytes, \(delegate.ended?.rawValue ?? "no end")")
                }
            }
        }
        var expired = false
        let guardTimer = LoopTimer(loop: loop, after: 600) { expired = true }
        defer { guardTimer.cancel() }
        var ticked = false
        // Also wakes the loop when nothing else does (idle sessions send nothing).
        let tick = LoopTimer(loop: loop, after: 0.02, repeats: true) { ticked = true }
        defer { tick.cancel() }

        let start = now()
        while !expired {
            if settingUp < inflight && clients.count < count {
                for _ in 0..<min(inflight - settingUp, count - clients.count) {
                    let delegate = CountingDelegate()
                    clients.append((delegate, startClient(wire, options: options, delegate: delegate, loop: loop, address: address)))
                    phases.append(.settingUp)
                    settingUp += 1
                    open += 1
                }
                peakOpen = max(peakOpen, open)
            }
            let settled = bytes == 0 ? readyCount + failures : endedCount
            if clients.count == count && settled >= count { break }
            loop.runOnce()
            if ticked {
                ticked = false
                settle()
            }
        }
        let seconds = now() - start
        var line = ResultLine()
        line.add(bytes == 0 ? "held" : "done", bytes == 0 ? readyCount : endedCount - failures)
        line.add("count", count)
        line.add("failures", failures)
        line.add("peak_open", peakOpen)
        line.add("seconds", seconds, decimals: 3)
        line.add("client_rss_kb", procStatusKilobytes("VmRSS") ?? -1)
        line.add("ok", failures == 0 && !expired ? "yes" : "no")
        if expired { line.add("failure", "not_all_settled_within_600_s_(\(readyCount + endedCount)_of_\(count))") } else if let firstFailure {
            line.add("failure", firstFailure.replacingOccurrences(of: " ", with: "_"))
        }
        line.print()
        fflush(nil) // the caller polls for this line while the sessions are held
        guard bytes == 0, let until else { return }
        while access(until, F_OK) != 0 { loop.runOnce() }
        for client in clients { client.started.endpoint.terminate(.clientGone) }
        // A few turns so that the closes reach the server before this process exits.
        let drainUntil = now() + 0.5
        while now() < drainUntil { loop.runOnce() }
    }
}
