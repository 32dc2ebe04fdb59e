/// Limits and timeouts of one session, shared by its frontend, bridge and backend.
public struct BridgeConfig: Sendable {
    /// Bytes one side may hold toward the other before the producer is paused.
    public var channelBudget: Int = 256 * 1024
    /// The producer resumes when the holder is back below this.
    public var lowWater: Int { channelBudget / 4 }
    /// How long a client has to open every expected channel stream.
    public var streamCreationTimeout: Double = 30
    /// A session with no traffic for this long is ended.
    public var idleTimeout: Double = 4 * 3600
    /// A session whose bytes toward one side stay pending without any draining for this long
    /// (a peer that stopped reading, a producer paused for good) is ended (0: never).
    public var stallTimeout: Double = 120
    /// Keepalive pings toward an idle client (load balancers cut idle connections at 60 s).
    public var keepaliveInterval: Double = 30
    /// SETTINGS_MAX_CONCURRENT_STREAMS of an HTTP/2 client connection (`--max-concurrent-streams`):
    /// how many streams, so at most how many sessions, one connection may have open at once.
    public var maxConcurrentStreams: Int = 100
    /// How long an ended connection waits for the client to close before closing itself.
    public var closeLinger: Double = 5

    public init() {}
}
