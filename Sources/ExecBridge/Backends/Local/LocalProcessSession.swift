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
/// zombie, no orphaned child, no open descriptor. All methods must be called on the loop's thread.
public final class LocalProcessSession: SessionEndpoint {
    public let request: ExecRequest
    /// The inventory entry the command runs with; nil without an inventory.
    public let container: ContainerSpec?
    /// Held weakly: the bridge owns both ends and is the delegate of both.
    public weak var delegate: SessionEndpointDelegate?
    /// The child's pid once started (also its process group, and its session with a tty).
    public private(set) var pid: pid_t?
    /// Hard cap on stdin accepted but not yet taken by the child. The bridge pauses the client far
    /// below it; past it the child's stdin is closed rather than bytes silently lost.
    public static let stdinLimit = 4 << 20

    private let loop: EventLoop
    private let logger: Logger
    private let graceSeconds: Double
    private var keepAlive: LocalProcessSession?
    private var launchTimer: LoopTimer?
    private var launched = false
    private var released = false
    private var terminated = false
    private var exitEmitted = false
    private var exitStatus: ExecStatus?

    private var outputs: [OutputEnd] = []
    private var reading = true

    /// The pipe to the child's stdin, or the pty master (then not owned: `masterFD` is).
    private var stdinFD: Int32 = -1
    private var stdinEvent: FileEvent?
    private let stdinQueue = StdinQueue(limit: LocalProcessSession.stdinLimit)
    /// The client sent its last stdin byte (or stdin can take no more).
    private var stdinEnding = false
    /// EOF is delivered (pipe closed / VEOF written) or stdin broke: nothing more is written.
    private var stdinDone = false
    private var lastStdinByte: UInt8?

    private var masterFD: Int32 = -1
    private var pendingSize: TerminalSize?

    private var pidFD: Int32 = -1
    private var exitEvent: FileEvent?
    private var exitPoll: LoopTimer?
    private var escalation: LoopTimer?
    private let accounts: [String: Result<UserAccount, UserAccount.Unknown>]

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
        launchTimer = LoopTimer(loop: loop, after: 0) { [weak self] in
            guard let self, !self.terminated else { return }
            self.launched = true
            self.failToStart(status)
        }
    }

    /// The backend's count of sessions not yet released (children not yet reaped): a draining
    /// gateway waits for them, so that no child outlives it.
    private let counter: SessionCounter?

    deinit {
        // Reached only after `release`; kept as a last guard against a leaked descriptor.
        closeDescriptors()
    }

    // MARK: - SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !released, !terminated else { return }
        switch event {
        case .data(.stdin, let bytes):
            acceptStdin(bytes)
        case .halfClose(.stdin):
            guard request.stdin, !stdinEnding else { return }
            stdinEnding = true
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

    public func setReading(_ on: Bool) {
        reading = on
        for end in outputs where end.forwards {
            if on { end.event?.enable() } else { end.event?.disable() }
        }
    }

    /// `.completed` after `.exit`: frees (already done). Anything else: the client is gone, so stop
    /// the command: hang up its terminal (tty) or close its stdin, discard its output, SIGTERM its
    /// process group after `graceSeconds` and SIGKILL after as long again; the session frees
    /// itself once the child is reaped. The delegate hears nothing more.
    public func terminate(_ reason: EndReason) {
        guard !released else { return }
        if exitEmitted {
            release()
            return
        }
        guard !terminated else { return }
        terminated = true
        delegate = nil
        guard launched, let pid, exitStatus == nil else {
            // Never started, or already reaped and only its output was pending.
            release()
            return
        }
        logger.debug("terminating local process", metadata: ["pid": "\(pid)", "reason": "\(reason.rawValue)"])
        if request.tty {
            signalGroup(SIGHUP)
            signalGroup(SIGCONT)
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

    // MARK: - Start

    private func launch() {
        launchTimer = nil
        guard !terminated, !released else { return }
        launched = true
        let plan: LocalLaunchPlan
        switch LocalLaunchPlan.make(command: request.command, tty: request.tty, container: container, accounts: accounts) {
        case .failure(let refusal):
            failToStart(refusal.status)
            return
        case .success(let made):
            plan = made
        }

        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        var stdio: (Int32, Int32, Int32) = (-1, -1, -1)
        var ttyPath: String?
        if request.tty {
            var name = [CChar](repeating: 0, count: 128)
            let master = eb_pty_open(&name, name.count)
            guard master >= 0 else {
                failToStart(.internalError("cannot open a pseudo-terminal: \(errorText(errno))"))
                return
            }
            masterFD = master
            let slave = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            ttyPath = slave
            if let size = pendingSize { applySize(size) }
            if let account = plan.account {
                // The slave is root's and mode 0600 on devpts: give it to the user, as login does.
                _ = chown(slave, account.uid, gid_t.max)
            }
        } else {
            if request.stdin {
                guard let fds = makePipe(parentEnd: 1) else { return failToStart(pipeFailure()) }
                childEnds.append(fds.read)
                stdio.0 = fds.read
                stdinFD = fds.write
            }
            if request.stdout {
                guard let fds = makePipe(parentEnd: 0) else { return failToStart(pipeFailure()) }
                childEnds.append(fds.write)
                stdio.1 = fds.write
                outputs.append(OutputEnd(channel: .stdout, fd: fds.read, forwards: true, owned: true))
            }
            if request.stderr {
                guard let fds = makePipe(parentEnd: 0) else { return failToStart(pipeFailure()) }
                childEnds.append(fds.write)
                stdio.2 = fds.write
                outputs.append(OutputEnd(channel: .stderr, fd: fds.read, forwards: true, owned: true))
            }
        }

        switch ChildSpawner.spawn(plan, stdio: stdio, ttyPath: ttyPath) {
        case .failure(let failure):
            failToStart(plan.spawnFailure(step: failure.step, error: failure.error))
            return
        case .success(let child):
            pid = child
            logger.debug("started local process", metadata: [
                "pid": "\(child)", "executable": "\(plan.executable)", "tty": "\(request.tty)",
            ])
        }
        watchExit()

        if request.tty {
            // stderr is merged into the terminal; without stdout the terminal is still drained.
            outputs.append(OutputEnd(channel: .stdout, fd: masterFD, forwards: request.stdout, owned: false))
            if request.stdin { stdinFD = masterFD }
        }
        for end in outputs {
            let event = FileEvent(loop: loop, fd: end.fd, kind: .read) { [weak self, unowned end] in
                self?.readOutput(end)
            }
            end.event = event
            if reading || !end.forwards { event.enable() }
        }
        if stdinFD >= 0 {
            stdinEvent = FileEvent(loop: loop, fd: stdinFD, kind: .write) { [weak self] in self?.flushStdin() }
            if !stdinQueue.isEmpty {
                stdinEvent?.enable()
            } else if stdinEnding {
                deliverStdinEOF()
            }
        }
    }

    /// A pipe with both ends close-on-exec; the parent's end (`parentEnd` 0 or 1) non-blocking.
    private func makePipe(parentEnd: Int) -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard eb_pipe_cloexec(&fds) == 0 else { return nil }
        let flags = fcntl(fds[parentEnd], F_GETFL)
        guard flags >= 0, fcntl(fds[parentEnd], F_SETFL, flags | O_NONBLOCK) == 0 else {
            let error = errno
            close(fds[0])
            close(fds[1])
            errno = error
            return nil
        }
        return (fds[0], fds[1])
    }

    private func pipeFailure() -> ExecStatus {
        .internalError("cannot create a pipe: \(errorText(errno))")
    }

    /// The command never ran: end every requested output, then report `status`.
    private func failToStart(_ status: ExecStatus) {
        logger.debug("local process did not start", metadata: ["status": "\(status)"])
        for end in outputs { closeOutput(end) }
        outputs = []
        stopStdin()
        let channels: [Channel] = request.tty
            ? (request.stdout ? [.stdout] : [])
            : (request.stdout ? [.stdout] : []) + (request.stderr ? [.stderr] : [])
        for channel in channels {
            delegate?.endpoint(self, emitted: .halfClose(channel))
        }
        exitEmitted = true
        delegate?.endpoint(self, emitted: .exit(status))
        release()
    }

    // MARK: - Output

    private func readOutput(_ end: OutputEnd) {
        guard end.isOpen, !released else { return }
        let buffer = loop.scratch
        let count = read(end.fd, buffer.baseAddress, buffer.count)
        if count > 0 {
            if end.forwards {
                delegate?.endpoint(self, emitted: .data(end.channel,
                                                        UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)))
            }
            return
        }
        if count < 0 {
            let error = errno
            if error == EAGAIN || error == EINTR { return }
            // EIO on a pty master: every slave descriptor is closed, the terminal's output is over.
            if error != EIO {
                logger.warning("reading the local process's \(end.channel) failed: \(errorText(error))")
            }
        }
        closeOutput(end)
        if request.tty {
            // The terminal is gone both ways.
            stopStdin()
        }
        if end.forwards {
            delegate?.endpoint(self, emitted: .halfClose(end.channel))
        }
        emitExitIfDone()
    }

    private func closeOutput(_ end: OutputEnd) {
        guard end.isOpen else { return }
        end.event?.invalidate()
        end.event = nil
        if end.owned { close(end.fd) }
        end.fd = -1
    }

    // MARK: - Stdin

    private func acceptStdin(_ bytes: UnsafeRawBufferPointer) {
        guard request.stdin, !stdinEnding, !stdinDone, bytes.count > 0 else { return }
        lastStdinByte = bytes[bytes.count - 1]
        guard launched, stdinFD >= 0, stdinQueue.isEmpty else {
            enqueue(bytes)
            return
        }
        guard let written = writeStdin(bytes) else {
            stdinBroke()
            return
        }
        if written < bytes.count {
            enqueue(UnsafeRawBufferPointer(rebasing: bytes[written...]))
            stdinEvent?.enable()
        }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) {
        guard stdinQueue.append(bytes) else {
            logger.error("stdin for the local process passed \(Self.stdinLimit) buffered bytes; closing its stdin")
            stdinEnding = true
            return
        }
    }

    /// Writes as much as the descriptor takes now; nil when it can take nothing ever again.
    private func writeStdin(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while offset < bytes.count {
            let count = write(stdinFD, base + offset, bytes.count - offset)
            if count > 0 {
                offset += count
                continue
            }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN { break }
            return nil
        }
        return offset
    }

    private func flushStdin() {
        guard stdinFD >= 0, !released else { return }
        guard !stdinQueue.isEmpty else {
            stdinEvent?.disable()
            return
        }
        guard let written = writeStdin(stdinQueue.readable) else {
            stdinBroke()
            return
        }
        stdinQueue.consume(written)
        guard stdinQueue.isEmpty else { return }
        stdinEvent?.disable()
        if stdinEnding { deliverStdinEOF() }
        delegate?.endpointDidDrain(self)
    }

    /// End of stdin: close the pipe, or type the terminal's EOF character (twice when the last line
    /// is unfinished: the first one only hands that line over).
    private func deliverStdinEOF() {
        guard !stdinDone, stdinFD >= 0 else { return }
        guard request.tty else {
            stopStdin()
            return
        }
        stdinDone = true
        let eof = UInt8(truncatingIfNeeded: eb_pty_eof_char(masterFD))
        let lineOpen = lastStdinByte.map { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") } ?? false
        let bytes: [UInt8] = lineOpen ? [eof, eof] : [eof]
        bytes.withUnsafeBytes { raw in
            guard let written = writeStdin(raw) else { return }
            if written < raw.count, stdinQueue.append(UnsafeRawBufferPointer(rebasing: raw[written...])) {
                stdinEvent?.enable()
            }
        }
    }

    /// The child closed its stdin (EPIPE) or the terminal is gone: drop what is queued.
    private func stdinBroke() {
        let hadPending = !stdinQueue.isEmpty
        stopStdin()
        if hadPending { delegate?.endpointDidDrain(self) }
    }

    private func stopStdin() {
        stdinEnding = true
        stdinDone = true
        stdinQueue.removeAll()
        stdinEvent?.invalidate()
        stdinEvent = nil
        if stdinFD >= 0, stdinFD != masterFD { close(stdinFD) }
        stdinFD = -1
    }

    // MARK: - Terminal

    private func applySize(_ size: TerminalSize) {
        if eb_pty_set_size(masterFD, size.height, size.width) != 0 {
            logger.warning("resizing the terminal failed: \(errorText(errno))")
        }
    }

    // MARK: - Exit

    private func watchExit() {
        guard let pid else { return }
        let fd = eb_pidfd_open(pid)
        if fd >= 0 {
            pidFD = fd
            let event = FileEvent(loop: loop, fd: fd, kind: .read) { [weak self] in self?.reap() }
            event.enable()
            exitEvent = event
        } else {
            // Kernels before 5.3: poll. (SIGCHLD is one per process and libevent gives it to one loop.)
            exitPoll = LoopTimer(loop: loop, after: 0.05, repeats: true) { [weak self] in self?.reap() }
        }
    }

    private func reap() {
        guard let pid, exitStatus == nil else { return }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return }
        if result < 0 {
            if errno == EINTR { return }
            exitStatus = .internalError("lost track of process \(pid): \(errorText(errno))")
        } else if eb_wifexited(status) != 0 {
            exitStatus = .exited(Int(eb_wexitstatus(status)))
        } else if eb_wifsignaled(status) != 0 {
            exitStatus = .signaled(eb_wtermsig(status))
        } else {
            exitStatus = .internalError("process \(pid) ended with wait status \(status)")
        }
        logger.debug("local process ended", metadata: ["pid": "\(pid)", "status": "\(exitStatus.map { "\($0)" } ?? "")"])
        exitEvent?.invalidate()
        exitEvent = nil
        exitPoll?.cancel()
        exitPoll = nil
        if pidFD >= 0 {
            close(pidFD)
            pidFD = -1
        }
        escalation?.cancel()
        escalation = nil
        if terminated {
            release()
        } else {
            emitExitIfDone()
        }
    }

    /// `.exit` goes out only when the process is reaped and every output has ended.
    private func emitExitIfDone() {
        guard !exitEmitted, !terminated, !released, let status = exitStatus,
              outputs.allSatisfy({ !$0.isOpen }) else { return }
        exitEmitted = true
        delegate?.endpoint(self, emitted: .exit(status))
        release()
    }

    private func escalate(_ signal: Int32) {
        guard let pid, exitStatus == nil else { return }
        logger.debug("signalling local process", metadata: ["pid": "\(pid)", "signal": "\(signal)"])
        signalGroup(signal)
        if signal == SIGTERM {
            signalGroup(SIGCONT)
            escalation = LoopTimer(loop: loop, after: graceSeconds) { [weak self] in self?.escalate(SIGKILL) }
        }
    }

    /// Signals the child's process group (a pipeline, a shell's jobs) and the child itself, in case
    /// it left that group. Only before it is reaped, so the pid cannot have been reused.
    private func signalGroup(_ signal: Int32) {
        guard let pid, exitStatus == nil else { return }
        if kill(-pid, signal) != 0 || getpgid(pid) != pid {
            kill(pid, signal)
        }
    }

    // MARK: - Release

    /// Frees everything. Called only when no child is left to reap.
    private func release() {
        guard !released else { return }
        released = true
        counter?.value.subtract(1, ordering: .relaxed)
        launchTimer?.cancel()
        launchTimer = nil
        escalation?.cancel()
        escalation = nil
        exitPoll?.cancel()
        exitPoll = nil
        exitEvent?.invalidate()
        exitEvent = nil
        closeDescriptors()
        let keep = keepAlive
        keepAlive = nil
        withExtendedLifetime(keep) {}
    }

    private func closeDescriptors() {
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
private final class OutputEnd {
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
