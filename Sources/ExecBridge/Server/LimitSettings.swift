/// `execbridge serve` overload and progress limits (`--max-sessions`, `--max-sessions-per-user`,
/// `--max-connections`, `--stall-timeout`, `--max-concurrent-streams`).
public struct LimitSettings: Sendable {
    public var maxSessions: Int?
    public var maxSessionsPerUser: Int?
    public var maxConnections: Int?
    public var stallTimeout: Double = 120
    /// SO_RCVBUF/SO_SNDBUF of client and upstream sockets (0: the kernel's autotuning).
    public var socketBufferSize = 256 * 1024
    /// SETTINGS_MAX_CONCURRENT_STREAMS toward HTTP/2 clients: streams (so sessions) per connection.
    public var maxConcurrentStreams = 100

    public init() {}

    public func validate() throws {
        for (flag, value) in [("--max-sessions", maxSessions), ("--max-sessions-per-user", maxSessionsPerUser),
                              ("--max-connections", maxConnections)] {
            if let value, value < 1 { throw ConfigurationError("\(flag) must be at least 1") }
        }
        guard socketBufferSize == 0 || socketBufferSize >= 4096 else {
            throw ConfigurationError("--socket-buffer must be 0 (the kernel's autotuning) or at least 4096")
        }
        guard maxConcurrentStreams >= 1, maxConcurrentStreams <= Int(Int32.max) else {
            throw ConfigurationError("--max-concurrent-streams must be at least 1 (and at most 2147483647)")
        }
        guard stallTimeout >= 0 else { throw ConfigurationError("--stall-timeout must not be negative (0: never)") }
    }

    func install(into config: inout GatewayConfig) {
        config.limits = SessionLimits(maxSessions: maxSessions, maxSessionsPerUser: maxSessionsPerUser)
        config.maxConnections = maxConnections
        config.bridge.stallTimeout = stallTimeout
        config.bridge.maxConcurrentStreams = maxConcurrentStreams
        config.socketBufferSize = socketBufferSize
    }
}
