import Logging
import Reactor
import Synchronization

/// Everything of one loop: its listeners, its connections, its backend. Touched only on its loop.
final class Worker {
    let loop: EventLoop
    let config: GatewayConfig
    let backend: Backend
    private(set) var pipeline: RequestPipeline!
    /// Forwards requests that are not the gateway's own (upstream backends only).
    var passthrough: PassthroughHandler?
    private(set) var isDraining = false
    private var listeners: [Listener] = []
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var drainTimer: LoopTimer?
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
    /// Connections accepted so far (read from other threads by statistics and tests).
    let accepted = Atomic<Int>(0)
    /// Sessions ended, and the most bytes any one of them held toward a side (budget checks).
    let sessionsEnded = Atomic<Int>(0)
    let peakPending = Atomic<Int>(0)

    init(loop: EventLoop, config: GatewayConfig) {
        self.loop = loop
        self.config = config
        self.backend = config.makeBackend(loop)
        self.pipeline = RequestPipeline(worker: self)
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

    private func accept(_ fd: Int32) {
        guard !isDraining else {
            _ = Glibc.close(fd)
            return
        }
        accepted.add(1, ordering: .relaxed)
        let connection = Connection(loop: loop, fd: fd, tls: config.tls)
        connections[ObjectIdentifier(connection)] = connection
        connectionGate?.opened(on: self)
        connection.closeObserver = { [unowned self] closed in
            self.connections[ObjectIdentifier(closed)] = nil
            self.connectionGate?.closedOne()
            // A freed descriptor is the moment to try again.
            if self.fdRetry != nil { self.retryAccepting() }
            if self.isDraining { self.stopIfIdle() }
        }
        FrontDoor.accept(connection, worker: self)
    }

    var connectionCount: Int { connections.count }

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

    func bridgeEnded(_ bridge: Bridge) {
        sessionsEnded.add(1, ordering: .relaxed)
        bridge.context?.admission.release()
        peakPending.max(bridge.peakPending, ordering: .relaxed)
        pipeline.sessionEnded(bridge, context: bridge.context)
    }

    /// Stop accepting; idle connections close now, sessions may finish until the drain timeout.
    func drain() {
        guard !isDraining else { return }
        isDraining = true
        for listener in listeners { listener.close() }
        listeners.removeAll()
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
        guard connections.isEmpty else { return }
        // Let backends reap what they started (a process ended at the drain timeout needs its grace).
        let activeSessions = (backend as? BackendActivity)?.activeSessions ?? 0
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
            loop.stop()
        } else if stopCheck == nil {
            stopCheck = LoopTimer(loop: loop, after: 0.1, repeats: true) { [unowned self] in self.stopIfIdle() }
        }
    }
}

/// A connection handler that can say it is only waiting for a next request (closed first when
/// the connection limit needs room).
protocol IdleKeepAlive: AnyObject {
    var isIdleKeepAlive: Bool { get }
}

/// A connection handler that can wind down when the gateway drains.
protocol Drainable: AnyObject {
    func drain()
}

/// A backend that knows how many sessions (processes, upstream connections) are still alive.
public protocol BackendActivity: AnyObject {
    var activeSessions: Int { get }
}

import Glibc
