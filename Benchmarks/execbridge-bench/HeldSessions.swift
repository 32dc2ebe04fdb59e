import ExecBridge
import ExecModel
import Glibc
import Reactor

/// `hold`: what a gateway keeps per concurrent session. Opens `--count` sessions at once with the in-repo client
/// (one loop, many connections) and reads the gateway's resident set (`--pid`) before, while all are open, and
/// after they have ended and the gateway is idle again.
///
/// Idle (no `--bytes`): each session runs `sleep 3600` with stdout only; the figure is the gateway's RSS growth
/// per session once every session is set up. Burst (`--bytes N`): each session runs `head -c N /dev/zero`; the
/// figures are the gateway's peak (VmHWM, reset first) and what it still holds once all have ended.
enum HeldSessions {
    static func run(_ args: Arguments) throws {
        let wire = try wireArgument(args)
        let port = try portArgument(args)
        let count = try args.int("count", default: 1000)
        let pid = try args.string("pid")
        let bytes = try args.size("bytes", default: 0)
        // Connections being set up at once: more would overflow the listen backlog.
        let wave = max(1, try args.int("wave", default: 200))
        guard count > 0 else { throw UsageError("--count wants at least 1") }
        guard let before = procStatusKilobytes("VmRSS", pid: pid) else { throw UsageError("no process \(pid)") }
        resetPeak(pid)

        let loop = EventLoop()
        let command = bytes > 0 ? ["head", "-c", String(bytes), "/dev/zero"] : ["sleep", "3600"]
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        var held: [HeldClient] = []
        held.reserveCapacity(count)
        var expired = false
        let guardTimer = LoopTimer(loop: loop, after: 600) { expired = true }
        defer { guardTimer.cancel() }

        // Sessions are looked over every 10 ms, not every loop turn: with thousands open a scan per event
        // would make this client, not the gateway, the bottleneck.
        let tick = LoopTimer(loop: loop, after: 0.01, repeats: true) {}
        defer { tick.cancel() }
        let start = now()
        var lastScan = -1.0
        while !expired {
            if now() - lastScan >= 0.01 {
                lastScan = now()
                let settingUp = held.reduce(0) { $0 + ($1.isSettingUp ? 1 : 0) }
                if held.count < count && settingUp < wave {
                    for _ in 0..<min(wave - settingUp, count - held.count) {
                        held.append(HeldClient(wire, address: address, port: port, command: command, loop: loop))
                    }
                }
                let done = bytes > 0 ? held.allSatisfy(\.isOver) : held.allSatisfy { $0.isReady || $0.isOver }
                if held.count == count && done { break }
            }
            loop.runOnce()
        }
        let setUpSeconds = now() - start
        let at = procStatusKilobytes("VmRSS", pid: pid) ?? -1
        let peak = procStatusKilobytes("VmHWM", pid: pid) ?? -1
        let failed = held.filter { bytes > 0 ? !$0.succeeded(bytes) : !$0.isReady }
        for client in held where !client.isOver { client.endpoint.terminate(.clientGone) }
        // Let the closes go out before the gateway is watched settling.
        let drainUntil = now() + 0.5
        while now() < drainUntil { loop.runOnce(block: false); usleep(10_000) }
        held.removeAll()
        let after = settledKilobytes(pid: pid)

        var line = ResultLine()
        line.add("generation", wire.rawValue)
        line.add("mode", bytes > 0 ? "burst" : "idle")
        line.add("sessions", count)
        if bytes > 0 { line.add("bytes_per_session", bytes) }
        line.add("failures", failed.count)
        line.add("setup_s", setUpSeconds, decimals: 3)
        line.add("before_mib", Double(before) / 1024)
        if bytes > 0 {
            line.add("peak_mib", Double(peak) / 1024)
            line.add("peak_per_session_kib", Double(peak - before) / Double(count))
        } else {
            line.add("rss_per_session_kib", Double(at - before) / Double(count))
            line.add("at_mib", Double(at) / 1024)
            line.add("peak_mib", Double(peak) / 1024)
        }
        line.add("after_mib", Double(after) / 1024)
        line.add("ok", failed.isEmpty && !expired ? "yes" : "no")
        if let first = failed.first { line.add("failure", first.failure.replacingOccurrences(of: " ", with: "_")) }
        line.print()
    }

    private static func resetPeak(_ pid: String) {
        guard let file = fopen("/proc/\(pid)/clear_refs", "w") else { return }
        fputs("5", file)
        fclose(file)
    }

    /// The gateway's RSS once its sessions' processes are gone (the local backend gives each a grace period)
    /// and it then stopped changing for 3 s (longer than the gateway waits before it gives memory back, 1 s
    /// after the last end), at most 30 s.
    private static func settledKilobytes(pid: String) -> Int {
        let deadline = now() + 30
        var last = procStatusKilobytes("VmRSS", pid: pid) ?? -1
        var stableSince = now()
        while now() < deadline {
            usleep(100_000)
            let current = procStatusKilobytes("VmRSS", pid: pid) ?? -1
            if hasChildren(pid) {
                stableSince = now()
            } else if current != last {
                last = current
                stableSince = now()
            } else if now() - stableSince >= 3 {
                break
            }
        }
        return last
    }

    /// Whether any thread of `pid` has a child (each loop thread spawns its own sessions' processes).
    private static func hasChildren(_ pid: String) -> Bool {
        guard let dir = opendir("/proc/\(pid)/task") else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard tid.first?.isNumber == true, let file = fopen("/proc/\(pid)/task/\(tid)/children", "r") else { continue }
            let any = fgetc(file) != EOF
            fclose(file)
            if any { return true }
        }
        return false
    }
}

/// One session of `hold`, counting what it receives.
private final class HeldClient: SessionEndpointDelegate {
    private(set) var endpoint: SessionEndpoint!
    private var ready: () -> Bool = { false }
    private(set) var stdoutBytes = 0
    private(set) var status: ExecStatus?
    private(set) var ended: EndReason?

    init(_ wire: Wire, address: SocketAddress, port: UInt16, command: [String], loop: EventLoop) {
        let query = command.map { "command=\(percentEncoded($0))" }.joined(separator: "&")
        let path = "/api/v1/namespaces/default/pods/bench/exec?container=app&\(query)&stdout=true"
        var options = ExecClientOptions(authority: "127.0.0.1:\(port)", path: path, stdin: false, stdout: true,
                                        stderr: false, tty: false)
        options.versions = [.v4, .v3, .v2, .v1]
        switch wire {
        case .spdy:
            let c = SPDYExecClient(options: options, delegate: self, pingInterval: 3600)
            c.start(loop: loop, address: address)
            endpoint = c
            ready = { [unowned c] in c.isReady }
        case .h2:
            let c = HTTP2ExecClient(options: options, transport: .priorKnowledge, delegate: self)
            c.start(loop: loop, address: address)
            endpoint = c
            ready = { [unowned c] in c.isReady }
        case .ws:
            let c = WebSocketExecClient(options: options, delegate: self)
            c.start(loop: loop, address: address)
            endpoint = c
            ready = { [unowned c] in c.isReady }
        }
    }

    var isReady: Bool { ready() }
    var isOver: Bool { status != nil || ended != nil }
    var isSettingUp: Bool { !isReady && !isOver }

    func succeeded(_ bytes: Int) -> Bool { status?.exitCode == 0 && stdoutBytes == bytes }

    var failure: String {
        if let ended, status == nil { return "session ended: \(ended.rawValue)" }
        if let status { return "status \(status) after \(stdoutBytes) bytes" }
        return "not set up"
    }

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let payload): stdoutBytes += payload.count
        case .exit(let status): self.status = status
        default: break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {}
    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) { ended = reason }
}
