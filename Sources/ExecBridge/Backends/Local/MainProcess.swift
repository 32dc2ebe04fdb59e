import ExecModel
import Glibc
import Logging
import Reactor

/// One container's main process, supervised on the hub's owner loop: it runs as a local session
/// (same launch, pty, user, environment and signal escalation as an exec) whose events come here,
/// into the output ring and to every attacher. Restarted per `restartPolicy` with a back-off as
/// kubelet does (doubling, capped, reset after a long enough run); never paused for anyone.
final class MainProcess: SessionEndpointDelegate {
    /// The first restart waits this long; each further one twice as long, up to `maximumBackoff`.
    static let initialBackoff = 1.0
    static let maximumBackoff = 30.0
    /// A run this long resets the back-off.
    static let steadyRun = 60.0
    /// The terminal size before any attacher sets one.
    static let initialSize = TerminalSize(width: 80, height: 24)

    enum State {
        case running
        /// Ended with this status; restarts when the timer fires.
        case restarting(ExecStatus)
        /// Ended for good (`restartPolicy`, or the gateway is stopping).
        case ended(ExecStatus)
    }

    let key: String
    let target: ExecTarget
    let container: ContainerSpec
    let spec: MainProcessSpec
    let loop: EventLoop
    unowned let hub: MainProcessHub
    let accounts: [String: Result<UserAccount, UserAccount.Unknown>]
    private let logger: Logger
    private(set) var state = State.ended(.success)
    private var session: LocalProcessSession?
    private var ring = OutputRing()
    private var attachers: [Int: AttacherLink] = [:]
    private var restartTimer: LoopTimer?
    private var backoff = MainProcess.initialBackoff
    private var startedAt = 0.0
    private var restarts = 0
    /// The process's stdin was closed by a `stdinOnce` attacher; later input is dropped.
    private var stdinClosed = false

    init(key: String, target: ExecTarget, container: ContainerSpec, loop: EventLoop, hub: MainProcessHub,
         accounts: [String: Result<UserAccount, UserAccount.Unknown>]) {
        self.key = key
        self.target = target
        self.container = container
        self.spec = container.main!
        self.loop = loop
        self.hub = hub
        self.accounts = accounts
        var logger = hub.logger
        logger[metadataKey: "target"] = "\(target)"
        self.logger = logger
    }

    func start() {
        loop.preconditionInEventLoop()
        restartTimer = nil
        ring.removeAll()
        stdinClosed = false
        let request = ExecRequest(kind: .exec, target: target, command: spec.command, stdin: spec.stdin, stdout: true,
                                  stderr: !spec.tty, tty: spec.tty, pathForm: .kubelet, path: "")
        let process = LocalProcessSession(request: request, container: container, loop: loop, delegate: self,
                                          logger: logger, graceSeconds: hub.graceSeconds, accounts: accounts,
                                          counter: hub.counter)
        if spec.tty { process.receive(.resize(Self.initialSize)) }
        session = process
        startedAt = EventLoop.now()
        state = .running
        hub.setNotRunning(key, nil)
        logger.info("main process starting", metadata: ["command": "\(spec.command.first ?? "")",
                                                         "restarts": "\(restarts)"])
    }

    /// The gateway stops: no restart; SIGTERM to the process's session now, SIGKILL after the grace.
    func stop() {
        restartTimer?.cancel()
        restartTimer = nil
        let status = ExecStatus.failure(message: "the gateway is shutting down", reason: "ServiceUnavailable", code: 503)
        for link in attachers.values { link.finish(status) }
        attachers.removeAll()
        if let session {
            self.session = nil
            session.terminate(.shutdown)
            session.escalation?.cancel()
            session.escalate(SIGTERM)
        }
        state = .ended(status)
        hub.setNotRunning(key, "the gateway is shutting down")
    }

    // MARK: - The process's events

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(let channel, let bytes):
            ring.append(channel, bytes)
            guard !attachers.isEmpty else { return }
            let copy = [UInt8](bytes)
            for id in Array(attachers.keys) where attachers[id]!.wants(channel) {
                send(channel, copy, to: id)
            }
        case .exit(let status):
            ended(status)
        default:
            break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        for id in Array(attachers.keys) {
            let count = attachers[id]!.inputUnacknowledged
            guard count > 0 else { continue }
            attachers[id]!.inputUnacknowledged = 0
            attachers[id]!.acknowledgeInput(count)
        }
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        ended(.internalError("the main process was lost (\(reason.rawValue))"))
    }

    private func ended(_ status: ExecStatus) {
        guard case .running = state else { return }
        session = nil
        // Every attacher ends with the process, as `kubectl attach` does when the container exits.
        for link in attachers.values { link.finish(status) }
        attachers.removeAll()
        let restart: Bool
        switch spec.restartPolicy {
        case .always: restart = true
        case .onFailure: restart = status != .success
        case .never: restart = false
        }
        guard restart, !hub.isStopping else {
            logger.info("main process ended", metadata: ["status": "\(status)"])
            state = .ended(status)
            hub.setNotRunning(key, Self.why(state))
            return
        }
        if EventLoop.now() - startedAt >= Self.steadyRun { backoff = Self.initialBackoff }
        logger.info("main process ended; restarting", metadata: ["status": "\(status)", "after": "\(backoff)s"])
        state = .restarting(status)
        hub.setNotRunning(key, Self.why(state))
        restarts += 1
        restartTimer = LoopTimer(loop: loop, after: backoff) { [weak self] in self?.start() }
        backoff = min(backoff * 2, Self.maximumBackoff)
    }

    static func why(_ state: State) -> String {
        switch state {
        case .restarting(let status): return "its main process is restarting after it ended (\(status))"
        case .ended(let status): return "its main process ended (\(status))"
        case .running: return "running"
        }
    }

    // MARK: - Attachers

    func join(_ link: AttacherLink) {
        guard case .running = state else {
            return link.finish(.failure(message: "container \(container.name) is not running: \(Self.why(state))",
                                        reason: "BadRequest", code: 400))
        }
        guard attachers.count < MainProcessHub.maximumAttachers else {
            return link.finish(.failure(message: "container \(container.name) already has \(MainProcessHub.maximumAttachers) attachers",
                                        reason: "TooManyRequests", code: 429))
        }
        attachers[link.id] = link
        // Recent output first, so a late attacher sees what it missed.
        for chunk in ring.contents where link.wants(chunk.channel) {
            send(chunk.channel, chunk.bytes, to: link.id)
        }
    }

    func leave(_ id: Int) {
        attachers.removeValue(forKey: id)
    }

    func input(_ bytes: [UInt8], from id: Int) {
        guard var link = attachers[id] else { return }
        if let session, spec.stdin, !stdinClosed {
            bytes.withUnsafeBytes { session.receive(.data(.stdin, $0)) }
            if session.pendingBytes > MainProcessHub.stdinWindow {
                // Acknowledged when the process has taken its queue (`endpointDidDrain`).
                link.inputUnacknowledged += bytes.count
                attachers[id] = link
                return
            }
        }
        link.acknowledgeInput(bytes.count)
    }

    /// An attacher's input ended. As containerd does: with `stdinOnce` (and no tty) the process's
    /// stdin closes and the attacher stays until the process ends; otherwise the attacher detaches.
    func stdinEnded(from id: Int) {
        guard let link = attachers[id] else { return }
        if spec.stdinOnce && !spec.tty {
            if !stdinClosed, let session {
                stdinClosed = true
                session.receive(.halfClose(.stdin))
            }
            return
        }
        attachers.removeValue(forKey: id)
        link.finish(.success)
    }

    /// The last resize wins: the terminal has one size, whoever set it.
    func resize(_ size: TerminalSize) {
        guard spec.tty else { return }
        session?.receive(.resize(size))
    }

    func acknowledgeOutput(_ count: Int, from id: Int) {
        attachers[id]?.inFlight -= count
    }

    private func send(_ channel: Channel, _ bytes: [UInt8], to id: Int) {
        guard var link = attachers[id] else { return }
        link.inFlight += bytes.count
        guard link.inFlight <= MainProcessHub.outputBacklog else {
            attachers.removeValue(forKey: id)
            logger.warning("attacher too slow: detached", metadata: ["attacher": "\(id)"])
            link.finish(.failure(message: "attach: this client fell more than \(MainProcessHub.outputBacklog) bytes behind "
                                    + "the output of container \(container.name) and was detached (the process keeps running)",
                                 reason: "TooManyRequests", code: 429))
            return
        }
        attachers[id] = link
        link.deliver(channel, bytes)
    }
}
