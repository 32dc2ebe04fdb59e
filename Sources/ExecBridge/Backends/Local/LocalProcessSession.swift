import Synchronization
import CSystem
import ExecModel
import Glibc
import Logging
import Reactor

/// One command run by the local backend: a child process with pipes (or a pty) watched on one loop.
///
/// Events out: `.data(.stdout/.stderr)` as read, `.halfClose` at each output's end, then `.exit` once
/// the process is reaped and its output drained; nothing after `.exit` or after `terminate`.
/// The session keeps itself alive until its child is reaped, so dropping it early leaks nothing: no
/// zombie, no orphaned child, no open descriptor; what the child started and left running is swept
/// when the session ends (`ChildReaper`). All methods must be called on the loop's thread.
///
/// The parts live in extensions by concern: `+Launch` (pipes, pty, spawn), `+Output`, `+Stdin`,
/// `+Exit` (reaping, signals to the whole session, `.exit`); `+Phases` names the two lifecycles
/// (`ProcessPhase`, `StdinPhase`) whose values replace separate flags.
public final class LocalProcessSession: SessionEndpoint {
    public let request: ExecRequest
    /// The inventory entry the command runs with; nil without an inventory.
    public let container: ContainerSpec?
    /// Held weakly: the bridge owns both ends and is the delegate of both.
    public weak var delegate: SessionEndpointDelegate?
    /// The child's pid once started: also its process group and its session id (every child leads
    /// a new session, so everything it starts can be found and ended with it).
    public internal(set) var pid: pid_t?
    /// Hard cap on stdin accepted but not yet taken by the child. The bridge pauses the client far
    /// below it; past it the child's stdin is closed rather than bytes silently lost.
    public static let stdinLimit = 4 << 20

    let loop: EventLoop
    let logger: Logger
    let graceSeconds: Double
    var keepAlive: LocalProcessSession?
    var launchTimer: LoopTimer?
    var phase = ProcessPhase.scheduled

    var outputs: [OutputEnd] = []
    var reading = true

    /// The pipe to the child's stdin, or the pty master (then not owned: `masterFD` is).
    var stdinFD: Int32 = -1
    var stdinEvent: FileEvent?
    let stdinQueue = StdinQueue(limit: LocalProcessSession.stdinLimit)
    var stdinPhase = StdinPhase.open
    var lastStdinByte: UInt8?

    var masterFD: Int32 = -1
    var pendingSize: TerminalSize?

    var pidFD: Int32 = -1
    var exitEvent: FileEvent?
    var exitPoll: LoopTimer?
    /// The next step toward ending the session: SIGTERM/SIGKILL after `terminate`, or the sweep of
    /// what still holds the output after the leader exited.
    var escalation: LoopTimer?
    /// Keeps the reaper scanning while the session runs.
    var reaperTimer: LoopTimer?
    let accounts: [String: Result<UserAccount, UserAccount.Unknown>]

    /// Live sessions of one backend, shared with its sessions.
    final class SessionCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    init(request: ExecRequest, container: ContainerSpec?, loop: EventLoop, delegate: SessionEndpointDelegate?,
         logger: Logger, graceSeconds: Double, accounts: [String: Result<UserAccount, UserAccount.Unknown>] = [:],
         counter: SessionCounter? = nil) {
        self.accounts = accounts
        self.counter = counter
        self.request = request
        self.container = container
        self.loop = loop
        self.delegate = delegate
        self.logger = logger
        self.graceSeconds = graceSeconds
        keepAlive = self
        counter?.value.add(1, ordering: .relaxed)
        loop.selfRetained += 1
        // Start on the next loop turn: a resize or stdin the bridge hands over right after
        // `startSession` then reaches the child before it runs (a lost first resize is
        // kubernetes/kubernetes#47990), and start failures arrive on a later turn as promised.
        launchTimer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.launch() }
    }

    /// A session that ends at once with `status` (on the next loop turn), spawning nothing.
    init(failing status: ExecStatus, request: ExecRequest, loop: EventLoop, delegate: SessionEndpointDelegate?,
         logger: Logger, counter: SessionCounter? = nil) {
        self.counter = counter
        self.request = request
        self.container = nil
        self.loop = loop
        self.delegate = delegate
        self.logger = logger
        self.graceSeconds = 0
        self.accounts = [:]
        keepAlive = self
        counter?.value.add(1, ordering: .relaxed)
        loop.selfRetained += 1
        launchTimer = LoopTimer(loop: loop, after: 0) { [weak self] in
            guard let self, case .scheduled = self.phase else { return }
            self.phase = .running
            self.failToStart(status)
        }
    }

    /// The backend's count of sessions not yet released (children not yet reaped): a draining
    /// gateway waits for them, so that no child outlives it.
    let counter: SessionCounter?

    deinit {
        // Reached only after `release`; kept as a last guard against a leaked descriptor.
        closeDescriptors()
    }

    // MARK: - SessionEndpoint

    public func receive(_ event: SessionEvent) {
        loop.preconditionInEventLoop()
        switch phase {
        case .scheduled, .running, .reaped: break
        case .terminating, .released: return
        }
        switch event {
        case .data(.stdin, let bytes):
            acceptStdin(bytes)
        case .halfClose(.stdin):
            guard request.stdin, stdinPhase == .open else { return }
            stdinPhase = .ending
            if launched, stdinQueue.isEmpty { deliverStdinEOF() }
        case .resize(let size):
            guard request.tty, size.width >= 1, size.height >= 1 else { return }
            if masterFD >= 0 {
                applySize(size)
            } else if !launched {
                pendingSize = size
            }
        default:
            logger.debug("local session ignores \(event)")
        }
    }

    public var pendingBytes: Int { stdinQueue.count }
    public var stallsMeanAStuckPeer: Bool { false }

    public func setReading(_ on: Bool) {
        loop.preconditionInEventLoop()
        reading = on
        for end in outputs where end.forwards {
            if on { end.event?.enable() } else { end.event?.disable() }
        }
    }

    /// `.completed` after `.exit`: frees (already done). Anything else: the client is gone, so stop
    /// the command: hang up its terminal (tty) or close its stdin, discard its output, SIGTERM every
    /// process of its session after `graceSeconds` and SIGKILL after as long again; the session frees
    /// itself once the child is reaped, and sweeps what is left. The delegate hears nothing more.
    public func terminate(_ reason: EndReason) {
        loop.preconditionInEventLoop()
        switch phase {
        case .released, .terminating:
            return
        case .scheduled, .reaped:
            // Never started, or already reaped and only its output was pending.
            delegate = nil
            release()
            return
        case .running:
            break
        }
        delegate = nil
        guard let pid else {
            // Failing to start: nothing to end.
            release()
            return
        }
        phase = .terminating
        logger.debug("terminating local process", metadata: ["pid": "\(pid)", "reason": "\(reason.rawValue)"])
        if request.tty {
            signalSession(SIGHUP)
            signalSession(SIGCONT)
        }
        // Nobody reads the output any more: closing it also ends a child blocked writing to it.
        for end in outputs { closeOutput(end) }
        stopStdin()
        if masterFD >= 0 {
            close(masterFD)
            masterFD = -1
        }
        escalation = LoopTimer(loop: loop, after: graceSeconds) { [weak self] in self?.escalate(SIGTERM) }
    }

    // MARK: - Release

    /// Frees everything. Called only when no child is left to reap.
    func release() {
        guard !released else { return }
        counter?.value.subtract(1, ordering: .relaxed)
        loop.selfRetained -= 1
        launchTimer?.cancel()
        launchTimer = nil
        escalation?.cancel()
        escalation = nil
        reaperTimer?.cancel()
        reaperTimer = nil
        // Whatever the session started and left running ends now (TERM, then KILL).
        sweepSession()
        phase = .released
        exitPoll?.cancel()
        exitPoll = nil
        exitEvent?.invalidate()
        exitEvent = nil
        closeDescriptors()
        let keep = keepAlive
        keepAlive = nil
        withExtendedLifetime(keep) {}
    }

    func closeDescriptors() {
        for end in outputs { closeOutput(end) }
        outputs = []
        stopStdin()
        if masterFD >= 0 {
            close(masterFD)
            masterFD = -1
        }
        if pidFD >= 0 {
            close(pidFD)
            pidFD = -1
        }
    }
}

/// One output of the child: a stdout/stderr pipe, or the pty master.
final class OutputEnd {
    let channel: Channel
    var fd: Int32
    /// False for a tty without stdout: drained, not forwarded.
    let forwards: Bool
    /// The pty master is closed by the session, not here.
    let owned: Bool
    var event: FileEvent?
    var isOpen: Bool { fd >= 0 }

    init(channel: Channel, fd: Int32, forwards: Bool, owned: Bool) {
        self.channel = channel
        self.fd = fd
        self.forwards = forwards
        self.owned = owned
    }
}
