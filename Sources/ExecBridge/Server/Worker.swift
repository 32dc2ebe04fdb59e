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
        connection.closeObserver = { [unowned self] closed in
            self.connections[ObjectIdentifier(closed)] = nil
            if self.isDraining { self.stopIfIdle() }
        }
        FrontDoor.accept(connection, worker: self)
    }

    var connectionCount: Int { connections.count }

    func bridgeEnded(_ bridge: Bridge) {
        sessionsEnded.add(1, ordering: .relaxed)
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
            loop.stop()
        } else if stopCheck == nil {
            stopCheck = LoopTimer(loop: loop, after: 0.1, repeats: true) { [unowned self] in self.stopIfIdle() }
        }
    }
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
