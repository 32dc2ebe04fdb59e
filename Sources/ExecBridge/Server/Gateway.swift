import Glibc
import Logging
import Reactor

/// The running gateway: one worker per loop thread, each with its own listener on every address.
public final class Gateway: @unchecked Sendable {
    public let config: GatewayConfig
    public private(set) var addresses: [SocketAddress] = []
    private let group: LoopGroup
    private var workers: [Worker] = []
    private var signals: [SignalWatch] = []
    private var metricsServer: MetricsServer?
    /// Where `/metrics` is served (`--metrics-listen`, port 0 resolved), nil when off.
    public private(set) var metricsAddress: SocketAddress?
    /// SIGHUP: rereads the configuration's files (see `ReloadableFiles`).
    let reloader: ConfigReloader

    public init(config: GatewayConfig) {
        self.config = config
        self.group = LoopGroup(count: config.threads)
        self.reloader = ConfigReloader(files: config.reloadFiles, logger: config.logger, observer: config.reloadObserver)
    }

    /// Binds every address on every loop and starts the loop threads.
    public func start() throws {
        var bound: [SocketAddress] = []
        for text in config.listen {
            bound.append(try SocketAddress(parsing: text))
        }
        Socket.outgoingBufferSize.store(config.socketBufferSize, ordering: .relaxed)
        let logger = config.logger
        LibeventLog.route { severity, message in
            switch severity {
            case .debug: logger.debug("\(message)")
            case .info: logger.info("\(message)")
            case .warning: logger.warning("\(message)")
            case .error: logger.error("\(message)")
            }
        }
        workers = group.loops.map { Worker(loop: $0, config: config) }
        if let limit = config.maxConnections {
            let gate = ConnectionGate(limit: limit)
            gate.attach(workers)
            for worker in workers { worker.connectionGate = gate }
        }
        // The first loop binds; the others join the same port (port 0 resolved once).
        for i in bound.indices {
            let actual = try workers[0].listen(on: bound[i])
            bound[i] = actual
            for worker in workers.dropFirst() { _ = try worker.listen(on: actual) }
        }
        addresses = bound
        reloader.logStartingFiles()
        if let (address, pid) = ListenConflict.foreignListener(overlapping: workers.flatMap(\.listenerDescriptors)) {
            for worker in workers { worker.closeListeners() }
            let who = pid.map { "process \($0)" } ?? "another process"
            throw ConfigurationError("\(who) already listens on \(address): stop it, or give this gateway another --listen address")
        }
        if let metrics = config.metrics { try startMetrics(metrics) }
        group.start()
        for address in addresses {
            config.logger.info("listening", metadata: ["address": "\(address)", "threads": "\(workers.count)",
                                                       "tls": "\(config.tls != nil)"])
        }
    }

    /// Stops on SIGINT or SIGTERM: stop accepting, let sessions finish (at most the drain
    /// timeout), then return from `wait()`.
    public func stopOnSignals() {
        let loop = group.loops[0]
        for sig in [SIGINT, SIGTERM] {
            signals.append(SignalWatch(loop: loop, signal: sig) { [weak self] signal in
                self?.config.logger.info("signal received, draining", metadata: ["signal": "\(signal)"])
                self?.shutdown()
            })
        }
        // Without a handler SIGHUP would end the process (its default action), sessions and all.
        signals.append(SignalWatch(loop: loop, signal: SIGHUP) { [weak self] _ in self?.reload() })
    }

    /// Rereads the configuration's files and hands them to every worker. Safe from any thread.
    public func reload() {
        reloader.reload(into: workers)
    }

    /// SIGHUP reloads so far, and those that kept the previous configuration.
    public var reloads: (attempted: Int, failed: Int) {
        (reloader.attempts.load(ordering: .relaxed), reloader.failures.load(ordering: .relaxed))
    }

    /// The `/metrics` listener lives on the first loop and reads the first worker's authenticator.
    private func startMetrics(_ metrics: MetricsConfig) throws {
        GatewayMetrics.enable()
        let server = MetricsServer(loop: workers[0].loop, tls: metrics.tls,
                                   authorize: MetricsServer.authorizer(metrics, pipeline: workers[0].pipeline))
        metricsAddress = try server.listen(on: try SocketAddress(parsing: metrics.listen))
        metricsServer = server
        // Scrapes go on while sessions drain (a draining replica is the one worth watching).
        workers[0].willStop = { [unowned server] in server.close() }
        // SO_REUSEPORT would let a second gateway share the metrics port as it would `--listen`'s.
        let ours = workers.flatMap(\.listenerDescriptors) + [server.listenerDescriptor].compactMap { $0 }
        if let (address, pid) = ListenConflict.foreignListener(overlapping: ours) {
            server.close()
            for worker in workers { worker.closeListeners() }
            let who = pid.map { "process \($0)" } ?? "another process"
            throw ConfigurationError("\(who) already listens on \(address): stop it, or give this gateway another --metrics-listen address")
        }
        config.logger.info("metrics listening", metadata: ["address": "\(metricsAddress.map { "\($0)" } ?? "-")",
                                                           "credentials": "\(metrics.anonymous ? "none" : "required")"])
    }

    /// Safe from any thread.
    public func shutdown() {
        for worker in workers {
            let w = UncheckedBox(worker)
            worker.loop.execute { w.value.drain() }
        }
    }

    /// Blocks until every loop has stopped.
    public func wait() {
        group.join()
        signals.removeAll()
    }

    /// Connections each loop has accepted.
    public var acceptedPerLoop: [Int] { workers.map { $0.accepted.load(ordering: .relaxed) } }

    /// Sessions ended so far, over all loops.
    public var sessionsEnded: Int { workers.reduce(0) { $0 + $1.sessionsEnded.load(ordering: .relaxed) } }
    /// The most bytes any ended session held toward one side (the channel budget bounds it).
    public var peakPending: Int { workers.map { $0.peakPending.load(ordering: .relaxed) }.max() ?? 0 }

    /// Live connections per loop (tests and metrics); safe from any thread only after `wait()`.
    public var loops: [EventLoop] { group.loops }
}
