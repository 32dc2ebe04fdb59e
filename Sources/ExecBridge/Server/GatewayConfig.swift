import HTTP1
import Logging
import Reactor

/// Everything `execbridge serve` was told.
public struct GatewayConfig: Sendable {
    /// Addresses to listen on (`HOST:PORT`); port 0 picks one free port shared by every loop.
    public var listen: [String] = ["127.0.0.1:8080"]
    public var threads: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// TLS on every listener (ALPN h2 and http/1.1) when set.
    public var tls: TLSContext?
    public var headLimits = HTTPParseLimits()
    /// A request head must arrive within this many seconds (408 otherwise).
    public var headTimeout: Double = 10
    /// An idle keep-alive connection is closed after this many seconds.
    public var keepAliveTimeout: Double = 60
    /// On SIGINT/SIGTERM, sessions may finish for this long before they are cut.
    public var drainTimeout: Double = 30
    /// `--drain-delay`: seconds between SIGINT/SIGTERM and refusing new sessions, while `/readyz`
    /// already answers 503, so that a load balancer stops sending new sessions first. The drain
    /// timeout counts from the end of the delay.
    public var drainDelay: Double = 0
    public var bridge = BridgeConfig()
    /// `--max-sessions`, `--max-sessions-per-user`: shared by every worker.
    public var limits = SessionLimits()
    /// `--max-connections`: accepting pauses beyond it (nil: no limit).
    public var maxConnections: Int?
    /// SO_RCVBUF/SO_SNDBUF of every accepted and upstream socket (0: the kernel's autotuning).
    public var socketBufferSize: Int = 256 * 1024
    /// One backend per loop, so that nothing on the data path is shared between threads.
    public var makeBackend: @Sendable (EventLoop) -> Backend
    /// What SIGHUP rereads (`ServeMain` fills it from the command line).
    public var reloadFiles = ReloadableFiles()
    /// Told of every reload's outcome (metrics).
    public var reloadObserver: (any ConfigReloadObserver)?
    public var logger: Logger
    /// Discovery, security, audit: each adds itself to every worker's request pipeline.
    var pipelineExtensions: [any PipelineExtension] = []
    /// `--trace-frames FILE`: decoded frames of every SPDY and HTTP/2 connection (nil: off).
    var traceSink: FrameTraceSink?
    /// `--metrics-listen`: where `/metrics` is served, and whether scrapes need a credential (nil: off).
    var metrics: MetricsConfig?

    public init(logger: Logger, makeBackend: @escaping @Sendable (EventLoop) -> Backend) {
        self.logger = logger
        self.makeBackend = makeBackend
    }
}

import Glibc

extension GatewayConfig {
    /// `--trace-frames FILE`.
    public mutating func traceFrames(to path: String) throws {
        traceSink = try FrameTraceSink(path: path)
    }
}
