import ExecBridge
import ExecModel
import Logging
import Reactor

/// `bridge`: `head -c N /dev/zero` run by the LocalBackend, moved by a real Bridge to a
/// discarding frontend, all in this process on one loop.
enum BridgeThroughput {
    static func run(_ args: Arguments) throws {
        let bytes = try args.size("bytes", default: 1 << 30)
        let loop = EventLoop()
        let request = ExecRequest(target: ExecTarget(namespace: "default", pod: "bench", container: "app"),
                                  command: ["head", "-c", String(bytes), "/dev/zero"],
                                  stdin: false, stdout: true, stderr: true, tty: false,
                                  pathForm: .kubelet, path: "/exec/default/bench/app")
        let logger = Logger(label: "execbridge-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let bridge = Bridge(request: request, loop: loop, config: BridgeConfig(), logger: logger)
        let frontend = DiscardingFrontend()
        let backend = LocalBackend(inventory: nil)
        let rssBefore = procStatusKilobytes("VmRSS") ?? -1

        var expired = false
        let guardTimer = LoopTimer(loop: loop, after: 600) { expired = true }
        let cpuBefore = cpuSeconds()
        let start = now()
        bridge.start(frontend: frontend, backend: backend)
        while bridge.outcome == nil && !expired { loop.runOnce() }
        let seconds = now() - start
        guardTimer.cancel()

        var line = ResultLine()
        line.add("bytes", frontend.bytes)
        line.add("seconds", seconds, decimals: 3)
        line.add("mbps", megabytesPerSecond(frontend.bytes, seconds))
        line.add("rss_before_kb", rssBefore)
        line.add("peak_rss_kb", procStatusKilobytes("VmHWM") ?? -1)
        line.add("cpu_s", cpuSeconds() - cpuBefore, decimals: 3)
        line.add("exit", frontend.status?.exitCode ?? -1)
        line.add("ok", frontend.bytes == bytes && frontend.status?.exitCode == 0 ? "yes" : "no")
        line.print()
    }
}
