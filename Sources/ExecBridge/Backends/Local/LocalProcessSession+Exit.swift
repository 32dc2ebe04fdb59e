import CSystem
import ExecModel
import Glibc
import Logging
import Reactor

/// Reaping the leader, escalating signals to its whole session, and the `.exit` event.
extension LocalProcessSession {
    // MARK: - Exit

    func watchExit() {
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

    func reap() {
        guard let pid, leaderAlive else { return }
        let exitStatus: ExecStatus
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
        logger.debug("local process ended", metadata: ["pid": "\(pid)", "status": "\(exitStatus)"])
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
        ChildReaper.shared.leaderReaped(pid)
        let terminating: Bool
        if case .terminating = phase { terminating = true } else { terminating = false }
        phase = .reaped(exitStatus, swept: false)
        if terminating {
            release()
            return
        }
        emitExitIfDone()
        if !released {
            // The leader is gone but something it started still holds the output open (`cmd &`):
            // it gets the grace time to finish, then the session is swept (TERM, KILL after as
            // long again), which closes the output and lets `.exit` go out.
            escalation = LoopTimer(loop: loop, after: graceSeconds) { [weak self] in self?.sweepSession() }
        }
    }

    /// Keeps the reaper scanning while the session runs: escapees of any session are ended even
    /// when no session ends. (The reaper scans at most once per interval for all sessions.)
    func watchEscapees() {
        let grace = graceSeconds
        reaperTimer = LoopTimer(loop: loop, after: 0.5, repeats: true) {
            ChildReaper.shared.tick(now: EventLoop.now(), grace: grace, minimumInterval: 0.25)
        }
    }

    /// Sweeps what is left of the session once its leader was reaped (at most once).
    func sweepSession() {
        guard let pid, case .reaped(let status, swept: false) = phase else { return }
        phase = .reaped(status, swept: true)
        SessionSweep(sid: pid, loop: loop, grace: graceSeconds)
    }

    /// `.exit` goes out only when the process is reaped and every output has ended.
    func emitExitIfDone() {
        guard case .reaped(let status, _) = phase, outputs.allSatisfy({ !$0.isOpen }) else { return }
        delegate?.endpoint(self, emitted: .exit(status))
        release()
    }

    func escalate(_ signal: Int32) {
        guard let pid, leaderAlive else { return }
        logger.debug("signalling local process", metadata: ["pid": "\(pid)", "signal": "\(signal)"])
        signalSession(signal)
        if signal == SIGTERM {
            signalSession(SIGCONT)
            escalation = LoopTimer(loop: loop, after: graceSeconds) { [weak self] in self?.escalate(SIGKILL) }
        }
    }

    /// Signals every process of the child's session: its process group (a pipeline, a shell's
    /// jobs), and whatever moved to another group (`setpgid`, job control). Only before the leader
    /// is reaped, so its pid, the session id, cannot have been reused; afterwards `sweepSession`.
    func signalSession(_ signal: Int32) {
        guard let pid, leaderAlive else { return }
        kill(-pid, signal)
        kill(pid, signal)
        ChildReaper.shared.signalLiveSession(pid, signal)
    }
}
