import ArgumentParser
import ExecBridge

/// Overload and progress limits of `execbridge serve`.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-sessions"), help: "Concurrent sessions, gateway-wide; beyond it 503 with Retry-After (default: no limit).")
    var maxSessions: Int?

    @Option(name: .customLong("max-sessions-per-user"), help: "Concurrent sessions of one user (anonymous counts as one); beyond it 429 with Retry-After.")
    var maxSessionsPerUser: Int?

    @Option(name: .customLong("max-connections"), help: "Open client connections; beyond it accepting pauses and idle keep-alive connections are closed first.")
    var maxConnections: Int?

    @Option(name: .customLong("stall-timeout"), help: "Seconds a session may hold bytes its peer does not read before it ends (0: never).")
    var stallTimeout: Double = 120

    @Option(name: .customLong("socket-buffer"), help: "SO_RCVBUF/SO_SNDBUF bytes of every client and upstream socket, so that paused sessions cannot exhaust kernel TCP memory (0: the kernel's autotuning).")
    var socketBuffer: Int = 256 * 1024

    @Option(name: .customLong("max-concurrent-streams"), help: "HTTP/2 streams one client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS), so at most as many sessions.")
    var maxConcurrentStreams: Int = 100

    func validate() throws {
        do { try settings().validate() } catch { throw ValidationError("\(error)") }
    }

    func settings() -> LimitSettings {
        var settings = LimitSettings()
        settings.maxSessions = maxSessions
        settings.maxSessionsPerUser = maxSessionsPerUser
        settings.maxConnections = maxConnections
        settings.stallTimeout = stallTimeout
        settings.socketBufferSize = socketBuffer
        settings.maxConcurrentStreams = maxConcurrentStreams
        return settings
    }
}
