import Glibc
import Logging
import Reactor
import Synchronization

/// Everything of one loop: its listeners, its connections, its backend. Touched only on its loop.
final class Worker {
    let loop: EventLoop
    let config: GatewayConfig
    let backend: Backend
    /// The TLS context of new connections; a reload replaces it, connections keep theirs.
    private var tls: TLSContext?
    let pipeline: RequestPipeline
    /// What every connection handler of this worker is given (never the worker itself).
    private(set) var services: ConnectionServices!
    private(set) var isDraining = false
    private var listeners: [Listener] = []
    private var connections: [ObjectIdentifier: Connection] = [:]
    /// What each connection speaks, for open connections by protocol (`--metrics-listen` only).
    private var protocols: [ObjectIdentifier: GatewayMetrics.ConnectionProtocol] = [:]
    private var drainTimer: LoopTimer?
    /// Runs on the loop just before it stops at the end of a drain (what else lives on this loop
    /// closes then, e.g. the metrics listener, which must answer while sessions drain).
    var willStop: (() -> Void)?
    /// `--drain-delay`: not ready, still serving, until it fires.
    private var drainDelayTimer: LoopTimer?
    /// Connections accepted once sessions are refused: they carry probes and refusals only, so the
    /// stop does not wait for them.
    private var lateConnections: Set<ObjectIdentifier> = []
    private var stopCheck: LoopTimer?
    private var stopCheckStarted: Double?
    /// `--max-connections` (nil: none), shared by every worker.
    var connectionGate: ConnectionGate?
    private var pausedByLimit = false
    /// Out of descriptors (EMFILE/ENFILE): accepting resumes after a pause or when one closes.
    private var fdEpisode: (started: Double, lastFailure: Double, failures: Int)?
    private var fdRetry: LoopTimer?
    private var fdEpisodeCheck: LoopTimer?
    private var limitCheck: LoopTimer?
    /// Returns a burst's memory once connections and sessions stop ending.
    private(set) lazy var memoryReturn = MemoryReturn(loop: loop) { [unowned self] in
        (self.backend as? BackendActivity)?.activeSessions ?? 0
    }
    /// Connections accepted so far (read from other threads by statistics and tests).
    let accepted = Atomic<Int>(0)
    /// Sessions ended, and the most bytes any one of them held toward a side (budget checks).
    let sessionsEnded = Atomic<Int>(0)
    let peakPending = Atomic<Int>(0)

    init(loop: EventLoop, config: GatewayConfig) {
        self.loop = loop
        self.config = config
        self.backend = config.makeBackend(loop)
        self.tls = config.tls
        self.pipeline = RequestPipeline(loop: loop, backend: backend, logger: config.logger, limits: config.limits,
                                        channelBudget: config.bridge.channelBudget)
        for extend in config.pipelineExtensions { extend.install(into: pipeline) }
        let launcher = SessionLauncher(
            loop: loop, backend: backend, bridge: config.bridge, logger: config.logger, traceSink: config.traceSink,
            // The worker holds the launcher: weak here, or neither would ever go. A bridge ending
            // after its worker still reaches the audit through the pipeline.
            onEnd: { [weak self, pipeline] record in
                self?.countEnded(record)
                pipeline.sessionEnded(record)
            },
            notStarted: { [pipeline] request, context, error in
                pipeline.notStarted(request, context: context, error: error)
            })
        services = ConnectionServices(launcher: launcher, pipeline: pipeline, headLimits: config.headLimits,
                                      headTimeout: config.headTimeout, keepAliveTimeout: config.keepAliveTimeout)
        services.switched = { [weak self] connection, proto in self?.connection(connection, switchedTo: proto) }
    }

    func listen(on address: SocketAddress) throws -> SocketAddress {
        let listener = try Listener(loop: loop, address: address) { [unowned self] fd, _ in
            self.accept(fd)
        }
        listener.socketBufferSize = config.socketBufferSize
        listener.onError = { [unowned self] error in self.acceptFailed(error) }
        listeners.append(listener)
        return listener.address
    }

    var listenerDescriptors: [Int32] { listeners.map(\.fileDescriptor) }

    /// Before the loop runs (a refused start).
    func closeListeners() {
        for listener in listeners { listener.close() }
        listeners.removeAll()
    }

    private func accept(_ fd: Int32) {
        accepted.add(1, ordering: .relaxed)
        let connection = Connection(loop: loop, fd: fd, tls: tls)
        connections[ObjectIdentifier(connection)] = connection
        let late = pipeline.drain.phase == .refusing
        if late { lateConnections.insert(ObjectIdentifier(connection)) }
        if GatewayMetrics.isEnabled {
            protocols[ObjectIdentifier(connection)] = .http1
            GatewayMetrics.connectionOpened(.http1)
        }
        connectionGate?.opened(on: self)
        connection.closeObserver = { [unowned self] closed in
            self.connections[ObjectIdentifier(closed)] = nil
            self.lateConnections.remove(ObjectIdentifier(closed))
            if let proto = self.protocols.removeValue(forKey: ObjectIdentifier(closed)) { GatewayMetrics.connectionClosed(proto) }
            self.connectionGate?.closedOne()
            self.memoryReturn.somethingEnded()
            // A freed descriptor is the moment to try again.
            if self.fdRetry != nil { self.retryAccepting() }
            if self.pipeline.drain.phase == .refusing { self.stopIfIdle() }
        }
        FrontDoor.accept(connection, services: services)
        // Answers its requests (a probe, a refusal) and closes.
        if late { (connection.handler as? HTTP1ServerHandler)?.closeAfterEachAnswer() }
    }

    var connectionCount: Int { connections.count }

    /// A reloaded configuration, on this worker's loop: new connections and admissions use it.
    func apply(_ snapshot: ConfigSnapshot) {
        let files = snapshot.files
        if files.tlsCert != nil { tls = snapshot.tls }
        if files.tokenFile != nil, let tokens = snapshot.tokens {
            (pipeline.authenticator as? Authenticator)?.follow(tokens, signature: snapshot.tokenSignature)
        }
        let authorizer = pipeline.targetAuthorizer as? Authorizer
        if files.policy != nil { authorizer?.follow(snapshot.policy) }
        if let nodes = snapshot.nodeAddresses {
            // Shared by every loop: each worker hands it the same map.
            (backend as? UpstreamBackend)?.config.nodes?.replace(nodes.map, signature: nodes.signature)
        }
        if files.inventory != nil {
            (backend as? LocalBackend)?.follow(snapshot.inventory, accounts: snapshot.accounts)
            authorizer?.follow(snapshot.inventory)
            for case let follower as InventoryFollower in pipeline.plainHandlers { follower.follow(snapshot.inventory) }
        }
    }

    private func connection(_ connection: Connection, switchedTo proto: GatewayMetrics.ConnectionProtocol) {
        guard GatewayMetrics.isEnabled else { return }
        let key = ObjectIdentifier(connection)
        guard let old = protocols[key] else { return }
        protocols[key] = proto
        GatewayMetrics.connectionSwitched(from: old, to: proto)
    }

    // MARK: Accept control

    /// accept() failed with `error` (libevent already retried the transient ones). Without a pause
    /// the listener would be ready again at once: a busy loop and a log flood. One warning per
    /// episode; the episode ends after a quiet spell with no failure.
    private func acceptFailed(_ error: Int32) {
        let now = EventLoop.now()
        if fdEpisode == nil {
            fdEpisode = (now, now, 0)
            let what = [EMFILE, ENFILE].contains(error) ? "out of file descriptors" : "accept failed"
            config.logger.warning("\(what): accepting paused", metadata: [
                "error": "\(String(cString: strerror(error)))", "connections": "\(connections.count)"])
            fdEpisodeCheck = LoopTimer(loop: loop, after: 1, repeats: true) { [unowned self] in self.checkFdEpisode() }
        }
        fdEpisode?.lastFailure = now
        fdEpisode?.failures += 1
        fdRetry?.cancel()
        fdRetry = LoopTimer(loop: loop, after: 0.25) { [unowned self] in self.retryAccepting() }
        updateListeners()
    }

    private func retryAccepting() {
        fdRetry?.cancel()
        fdRetry = nil
        updateListeners()
    }

    private func checkFdEpisode() {
        guard let episode = fdEpisode, EventLoop.now() - episode.lastFailure > 5 else { return }
        config.logger.notice("accepting normally again", metadata: [
            "failedAccepts": "\(episode.failures)", "seconds": "\(Int(episode.lastFailure - episode.started))"])
        fdEpisode = nil
        fdEpisodeCheck?.cancel()
        fdEpisodeCheck = nil
    }

    func setAcceptPaused(byLimit paused: Bool) {
        pausedByLimit = paused
        updateListeners()
        // While paused, a client waiting in the accept queue is worth an idle keep-alive connection.
        limitCheck?.cancel()
        limitCheck = paused ? LoopTimer(loop: loop, after: 0.1, repeats: true) { [unowned self] in
            if self.listeners.contains(where: \.hasPendingConnection) { self.connectionGate?.needRoom(on: self) }
        } : nil
    }

    private func updateListeners() {
        let pause = pausedByLimit || fdRetry != nil
        for listener in listeners { if pause { listener.pause() } else { listener.resume() } }
    }

    /// Closes one keep-alive connection that is only waiting for its next request, if any.
    func closeOneIdleKeepAlive() -> Bool {
        guard let idle = connections.values.first(where: { ($0.handler as? IdleKeepAlive)?.isIdleKeepAlive == true })
        else { return false }
        idle.close()
        return true
    }

    private func countEnded(_ record: SessionRecord) {
        sessionsEnded.add(1, ordering: .relaxed)
        peakPending.max(record.peakPending, ordering: .relaxed)
        memoryReturn.somethingEnded()
    }

    /// SIGTERM: `/readyz` fails at once; after `--drain-delay` new sessions are refused, idle
    /// connections close, and running sessions may finish until the drain timeout. The listeners
    /// stay open until then, so a balancer's probes and late clients get an answer, not a reset.
    /// A second signal during the delay cuts it short.
    func drain() {
        guard !isDraining else {
            if pipeline.drain.phase == .notReady { refuseSessions() }
            return
        }
        isDraining = true
        pipeline.drain.phase = .notReady
        for connection in Array(connections.values) { (connection.handler as? Drainable)?.leaveIfIdle() }
        guard config.drainDelay > 0 else { return refuseSessions() }
        config.logger.info("not ready: serving on for the drain delay", metadata: ["seconds": "\(config.drainDelay)"])
        drainDelayTimer = LoopTimer(loop: loop, after: config.drainDelay) { [unowned self] in self.refuseSessions() }
    }

    private func refuseSessions() {
        drainDelayTimer?.cancel()
        drainDelayTimer = nil
        pipeline.drain.phase = .refusing
        for connection in Array(connections.values) {
            (connection.handler as? Drainable)?.drain()
        }
        drainTimer = LoopTimer(loop: loop, after: config.drainTimeout) { [unowned self] in
            self.config.logger.warning("drain timeout: closing remaining connections",
                                       metadata: ["connections": "\(self.connections.count)"])
            for connection in Array(self.connections.values) { connection.close() }
            self.stopIfIdle()
        }
        stopIfIdle()
    }

    private func stopIfIdle() {
        // Once only late connections are left, nothing needs the listeners: close them, and let
        // the late connections finish their answer.
        guard connections.keys.allSatisfy(lateConnections.contains) else { return }
        if !listeners.isEmpty {
            for listener in listeners { listener.close() }
            listeners.removeAll()
            for connection in Array(connections.values) { (connection.handler as? Drainable)?.drain() }
        }
        guard connections.isEmpty else { return }
        // Let backends reap what they started (a process ended at the drain timeout needs its grace).
        var activeSessions = (backend as? BackendActivity)?.activeSessions ?? 0
        // Main processes (attach) stop only after the drain, like a container after its sessions.
        if activeSessions == 0, let local = backend as? LocalBackend { activeSessions = local.stopMainProcesses(on: loop) }
        if stopCheckStarted == nil { stopCheckStarted = EventLoop.now() }
        // A child that ignores even SIGKILL (uninterruptible sleep) must not hold the exit forever.
        let waitedTooLong = EventLoop.now() - (stopCheckStarted ?? 0) > 15
        if activeSessions == 0 || waitedTooLong {
            if waitedTooLong {
                config.logger.warning("stopping with processes still unreaped", metadata: ["sessions": "\(activeSessions)"])
            }
            drainTimer?.cancel()
            stopCheck?.cancel()
            for timer in [limitCheck, fdRetry, fdEpisodeCheck] { timer?.cancel() }
            backend.closeConnections()
            memoryReturn.cancel()
            willStop?()
            willStop = nil
            loop.stop()
        } else if stopCheck == nil {
            stopCheck = LoopTimer(loop: loop, after: 0.1, repeats: true) { [unowned self] in self.stopIfIdle() }
        }
    }
}
