import CSystem
import ExecModel
import Glibc
import Logging
import Reactor

/// Starting the child: pipes or a pty, the spawn, the watchers.
extension LocalProcessSession {
    // MARK: - Start

    func launch() {
        launchTimer = nil
        guard case .scheduled = phase else { return }
        phase = .running
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

        // Registered as a live leader as it starts: no reaper scan may take it for an escapee.
        switch ChildReaper.shared.spawnLeader({ ChildSpawner.spawn(plan, stdio: stdio, ttyPath: ttyPath) }) {
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
        watchEscapees()

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
            } else if stdinPhase == .ending {
                deliverStdinEOF()
            }
        }
    }

    /// A pipe with both ends close-on-exec; the parent's end (`parentEnd` 0 or 1) non-blocking.
    func makePipe(parentEnd: Int) -> (read: Int32, write: Int32)? {
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

    func pipeFailure() -> ExecStatus {
        .internalError("cannot create a pipe: \(errorText(errno))")
    }

    /// The command never ran: end every requested output, then report `status`.
    func failToStart(_ status: ExecStatus) {
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
        delegate?.endpoint(self, emitted: .exit(status))
        release()
    }
}
