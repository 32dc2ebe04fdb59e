import ExecModel
import Logging
import Reactor

/// Pairs one frontend session with one backend session on the same loop and moves session events
/// between them. It owns what neither side can decide alone: backpressure (a producer is paused
/// while the other side holds more than the budget), the order of the end (the status goes to the
/// client only after the backend's output), and what happens when either side disappears.
public final class Bridge: SessionEndpointDelegate {
    public let request: ExecRequest
    public let config: BridgeConfig
    public private(set) var frontend: SessionEndpoint?
    public private(set) var backend: SessionEndpoint?
    public private(set) var outcome: Outcome?
    /// Payload bytes moved per channel, for the audit record and tests.
    public private(set) var bytes: [Channel: Int] = [:]
    /// The most either side ever held toward the other (tests assert it stays near the budget).
    public private(set) var peakPending = 0
    /// The request as the front door saw it (peer, headers), for the audit record.
    public var context: RequestContext?
    /// `--record-dir`: sees every event moved (nil when recording is off: one check per event).
    var tap: (any SessionTap)?

    public struct Outcome: Sendable {
        public var reason: EndReason
        public var status: ExecStatus?
        public var duration: Double
    }

    private let loop: EventLoop
    private let logger: Logger
    private let started = EventLoop.now()
    private var frontendPaused = false
    private var backendPaused = false
    private var idleTimer: LoopTimer?
    private var idlePeriods = 0
    private var stallTimer: LoopTimer?
    private var towardFrontend = Progress()
    private var towardBackend = Progress()
    private var active = false
    private var onEnd: ((Bridge) -> Void)?

    public init(request: ExecRequest, loop: EventLoop, config: BridgeConfig, logger: Logger,
                onEnd: ((Bridge) -> Void)? = nil) {
        self.request = request
        self.loop = loop
        self.config = config
        self.logger = logger
        self.onEnd = onEnd
    }

    /// Starts the session: the frontend has every expected channel; the backend runs the command.
    public func start(frontend: SessionEndpoint, backend: Backend) {
        loop.preconditionInEventLoop()
        self.frontend = frontend
        self.backend = backend.startSession(request, on: loop, delegate: self)
        let period = max(0.05, config.idleTimeout / 4)
        idleTimer = LoopTimer(loop: loop, after: period, repeats: true) { [weak self] in self?.idleTick() }
        if config.stallTimeout > 0 {
            towardFrontend.since = EventLoop.now()
            towardBackend.since = towardFrontend.since
            stallTimer = LoopTimer(loop: loop, after: max(0.05, config.stallTimeout / 4), repeats: true) { [weak self] in
                self?.stallTick()
            }
        }
        logger.debug("session started", metadata: ["target": "\(request.target)", "version": "\(request.version)"])
    }

    // MARK: SessionEndpointDelegate

    public func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        loop.preconditionInEventLoop()
        guard outcome == nil else { return }
        active = true
        tap?.record(event, fromClient: endpoint === frontend)
        // A receiver over budget pauses its producer until it drains (`endpointDidDrain`).
        if endpoint === frontend, let backend {
            if move(event, to: backend), !frontendPaused {
                frontendPaused = true
                frontend?.setReading(false)
            }
        } else if endpoint === backend, let frontend {
            if move(event, to: frontend), !backendPaused {
                backendPaused = true
                backend?.setReading(false)
            }
        }
    }

    public func endpointDidDrain(_ endpoint: SessionEndpoint) {
        loop.preconditionInEventLoop()
        if endpoint === frontend, backendPaused, endpoint.pendingBytes <= config.lowWater {
            backendPaused = false
            backend?.setReading(true)
        } else if endpoint === backend, frontendPaused, endpoint.pendingBytes <= config.lowWater {
            frontendPaused = false
            frontend?.setReading(true)
        }
    }

    public func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        loop.preconditionInEventLoop()
        guard outcome == nil else { return }
        if endpoint === frontend {
            // The client is gone: nobody can read a status. End the command.
            end(reason, status: nil)
        } else if endpoint === backend {
            // A lost backend must never look like success.
            let status = ExecStatus.internalError("lost connection to backend")
            frontend?.receive(.exit(status))
            end(reason, status: status)
        }
    }

    // MARK: Moving events

    /// One event to `receiver`, in either direction: the receiver writes the payload on at once.
    /// Returns whether it now holds more than the budget.
    private func move(_ event: SessionEvent, to receiver: SessionEndpoint) -> Bool {
        switch event {
        case .data(let channel, let payload):
            bytes[channel, default: 0] += payload.count
            if receiver === frontend { towardFrontend.given += payload.count } else { towardBackend.given += payload.count }
            receiver.receive(event)
            let pending = receiver.pendingBytes
            peakPending = max(peakPending, pending)
            return pending > config.channelBudget
        case .halfClose, .resize:
            receiver.receive(event)
        case .exit(let status):
            // Only backends end sessions, and only after their output ended: the frontend writes the
            // status behind that output and tears down in order.
            guard receiver === frontend else { return false }
            receiver.receive(.exit(status))
            end(.completed, status: status)
        }
        return false
    }

    private func idleTick() {
        if active {
            active = false
            idlePeriods = 0
            return
        }
        idlePeriods += 1
        guard idlePeriods >= 4, outcome == nil else { return }
        logger.info("session idle timeout", metadata: ["target": "\(request.target)"])
        let status = ExecStatus.failure(message: "session idle for \(Int(config.idleTimeout)) s", reason: "Timeout", code: 504)
        frontend?.receive(.exit(status))
        end(.timeout, status: status)
    }

    /// Bytes handed to one side, and when it last handed any of them on. The side's pending count
    /// may include bytes of its own (frame headers, window updates, pings), so progress is either
    /// more payload handed on or a pending count that fell since the last look.
    private struct Progress {
        var given = 0
        var drained = 0
        var lastPending = 0
        var since = 0.0

        /// True when `pending` bytes have sat without any progress for `limit` seconds.
        mutating func stalled(pending: Int, now: Double, limit: Double) -> Bool {
            let drainedNow = given - pending
            defer {
                lastPending = pending
                drained = max(drained, drainedNow)
            }
            if pending == 0 || pending < lastPending || drainedNow > drained {
                since = now
                return false
            }
            return now - since >= limit
        }
    }

    private func stallTick() {
        guard outcome == nil else { return }
        let now = EventLoop.now()
        let limit = config.stallTimeout
        let who: String
        if let frontend, towardFrontend.stalled(pending: frontend.pendingBytes, now: now, limit: limit) {
            who = "client not reading"
        } else if let backend, backend.stallsMeanAStuckPeer,
                  towardBackend.stalled(pending: backend.pendingBytes, now: now, limit: limit) {
            who = "backend not reading its input"
        } else {
            return
        }
        let message = "stalled: \(who) for \(Int(limit))s"
        logger.info("session stalled", metadata: ["target": "\(request.target)", "why": "\(who)"])
        let status = ExecStatus.failure(message: message, reason: "Timeout", code: 504)
        frontend?.receive(.exit(status))
        end(.timeout, status: status)
    }

    private func end(_ reason: EndReason, status: ExecStatus?) {
        guard outcome == nil else { return }
        outcome = Outcome(reason: reason, status: status, duration: EventLoop.now() - started)
        idleTimer?.cancel()
        idleTimer = nil
        stallTimer?.cancel()
        stallTimer = nil
        let frontend = self.frontend
        let backend = self.backend
        self.frontend = nil
        self.backend = nil
        backend?.terminate(reason)
        frontend?.terminate(reason)
        tap?.finish()
        logger.debug("session ended", metadata: ["reason": "\(reason.rawValue)", "status": "\(status.map { "\($0)" } ?? "-")"])
        let onEnd = self.onEnd
        self.onEnd = nil
        onEnd?(self)
    }
}
