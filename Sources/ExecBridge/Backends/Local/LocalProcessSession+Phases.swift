import ExecModel

/// The two lifecycles of a local session, as values: each names one legal combination of what the
/// session used to track in separate flags (launched, terminated, reaped, `.exit` sent, released).
extension LocalProcessSession {
    /// The child process, from the scheduled launch to the release of everything.
    enum ProcessPhase {
        /// `launch` runs on the next loop turn; stdin and a resize are held until then.
        case scheduled
        /// Launched (or failing to start): the leader, if spawned, is not reaped yet.
        case running
        /// The client is gone: the leader is being ended (SIGHUP, SIGTERM, SIGKILL) and the session
        /// frees itself once it is reaped. The delegate hears nothing more.
        case terminating
        /// The leader is reaped with `status`; `.exit` waits for the outputs to end. `swept`: what
        /// it left running was already swept.
        case reaped(ExecStatus, swept: Bool)
        /// Everything is freed (after `.exit`, or after a termination); nothing happens any more.
        case released
    }

    /// The client's stdin toward the child; each step only goes forward.
    enum StdinPhase: Int, Comparable {
        /// Bytes are accepted.
        case open
        /// The client sent its last byte (or stdin passed its limit): what is queued is written,
        /// then the end is delivered.
        case ending
        /// The end is delivered (pipe closed, terminal EOF typed) or stdin broke: nothing more is
        /// accepted, and only an EOF already queued is still written.
        case done

        static func < (a: StdinPhase, b: StdinPhase) -> Bool { a.rawValue < b.rawValue }
    }

    var launched: Bool {
        if case .scheduled = phase { return false }
        return true
    }

    var released: Bool {
        if case .released = phase { return true }
        return false
    }

    /// The leader was spawned and is not reaped: its pid is still its own, so it may be signalled.
    var leaderAlive: Bool {
        guard pid != nil else { return false }
        switch phase {
        case .running, .terminating: return true
        case .scheduled, .reaped, .released: return false
        }
    }

    /// Moves stdin forward to `next` (never back).
    func advanceStdin(to next: StdinPhase) {
        if next > stdinPhase { stdinPhase = next }
    }
}
