import CSystem
import Glibc
import Logging
import Synchronization

/// Process-wide bookkeeping that makes every process a session created end with it.
///
/// Each child leads its own session (spawn.c), so everything it starts carries its pid as session
/// id, however it detaches from its process group (`&`, `setpgid`). The gateway is a child subreaper:
/// what escapes by double fork is re-parented to the gateway instead of init. Here:
///   - live session leaders (while a fork is under way, no scan takes a direct child leading its own
///     session for an escapee);
///   - sweeps of ended sessions: every process still carrying the session id gets SIGTERM (and
///     SIGCONT) at once, SIGKILL `grace` seconds later;
///   - escapees: processes re-parented to the gateway that belong to no live session (a setsid after
///     a double fork gives them a session id of their own): SIGTERM, SIGKILL after the grace time;
///   - zombies re-parented to the gateway are reaped one by one with waitid(P_PID): never
///     waitpid(-1), which would steal the exit status of a live session's leader (its session reaps
///     it through its pidfd).
/// Children of the gateway in the gateway's own session (a test's helper processes) are never
/// touched: a session child can never rejoin that session.
///
/// All of it runs from loop timers (`tick`), one /proc scan at a time for all sessions; nothing here
/// is on the data path.
final class ChildReaper: Sendable {
    static let shared = ChildReaper()

    private struct Sweep {
        var grace: Double
        /// When SIGTERM went out; nil before the first scan.
        var terminatedAt: Double?
        var killedAt: Double?
    }

    private struct State {
        var subreaper = false
        /// Becoming a subreaper succeeded: every process our sessions leave stays in our subtree.
        var adoptsOrphans = false
        var leaders: Set<pid_t> = []
        /// Forks under way (their child is not registered yet).
        var spawning = 0
        var sweeps: [pid_t: Sweep] = [:]
        /// Escapees sent SIGTERM, with when.
        var escaped: [pid_t: Double] = [:]
        /// Escapees that outlived SIGKILL by `killPatience` (another user's set-uid process the
        /// gateway may not signal, uninterruptible sleep): no longer waited for.
        var abandoned: Set<pid_t> = []
        var lastScan = -Double.infinity
    }

    private let state = Mutex(State())
    private let pending = Atomic<Int>(0)
    private let gatewayPID = getpid()
    private let gatewaySID = getsid(0)
    /// How long a SIGKILLed process may take to vanish (uninterruptible sleep) before a sweep gives up.
    static let killPatience = 10.0

    /// Sessions swept and escapees not yet gone (a draining gateway waits for them).
    var pendingWork: Int { pending.load(ordering: .relaxed) }

    /// prctl(PR_SET_CHILD_SUBREAPER), once per process.
    func becomeSubreaper(logger: Logger) {
        let failed: Int32? = state.withLock { state in
            guard !state.subreaper else { return nil }
            state.subreaper = true
            guard eb_become_subreaper() == 0 else { return errno }
            state.adoptsOrphans = true
            return nil
        }
        if let failed {
            logger.warning("cannot become a child subreaper; processes that escape their session by a double fork are not ended: \(errorText(failed))")
        }
    }

    /// Runs `spawn` (a fork) and registers the leader it started. The fork is not under the lock (it
    /// waits for the child's execve); meanwhile scans leave alone every direct child that leads its
    /// own session, which a child being started is (and which they may also reap: a child that
    /// failed to exec is reaped by the spawn itself).
    func spawnLeader<Failure: Error>(_ spawn: () -> Result<pid_t, Failure>) -> Result<pid_t, Failure> {
        state.withLock { $0.spawning += 1 }
        let result = spawn()
        state.withLock { state in
            state.spawning -= 1
            if case .success(let pid) = result { state.leaders.insert(pid) }
        }
        return result
    }

    /// The leader was reaped by its session.
    func leaderReaped(_ pid: pid_t) {
        state.withLock { _ = $0.leaders.remove(pid) }
    }

    /// Signals every process of a live session (its leader not yet reaped, so its pid, the
    /// session id, cannot have been reused).
    func signalLiveSession(_ leader: pid_t, _ signal: Int32) {
        for entry in ProcessTable.all() where entry.sid == leader && !entry.isZombie {
            ProcessTable.signal(entry.pid, inSession: leader, signal)
        }
    }

    /// The session led by `sid` is over (its leader reaped): sweep what remains of it.
    func sessionEnded(_ sid: pid_t, grace: Double) {
        state.withLock { state in
            guard state.sweeps[sid] == nil else { return }
            state.sweeps[sid] = Sweep(grace: grace)
            updatePending(state)
        }
    }

    /// True while `sid` is being swept.
    func isSweeping(_ sid: pid_t) -> Bool {
        state.withLock { $0.sweeps[sid] != nil }
    }

    /// One scan of /proc for every sweep and escapee, unless another loop scanned less than
    /// `minimumInterval` seconds ago.
    func tick(now: Double, grace: Double, minimumInterval: Double) {
        state.withLock { state in
            guard now - state.lastScan >= minimumInterval else { return }
            state.lastScan = now
            scan(&state, now: now, grace: grace)
            updatePending(state)
        }
    }

    private func updatePending(_ state: State) {
        pending.store(state.sweeps.count + state.escaped.count, ordering: .relaxed)
    }

    private func scan(_ state: inout State, now: Double, grace: Double) {
        // What each sweep does on this scan.
        var actions: [pid_t: Int32] = [:]
        for (sid, sweep) in state.sweeps where !state.leaders.contains(sid) {
            if sweep.terminatedAt == nil {
                actions[sid] = SIGTERM
            } else if let at = sweep.terminatedAt, now - at >= sweep.grace {
                // Every scan from then on: a process forked just before the last one is caught too.
                actions[sid] = SIGKILL
            }
        }
        var members: [pid_t: Int] = [:]
        var escapees: Set<pid_t> = []
        // A subreaper's sessions and their escapees all stay below it: walk the gateway's subtree,
        // not the whole machine's /proc.
        let table = (state.adoptsOrphans ? ProcessTable.descendants(of: gatewayPID) : nil) ?? ProcessTable.all()
        for entry in table where entry.pid != gatewayPID && entry.sid != gatewaySID {
            let ours = entry.ppid == gatewayPID
            // Possibly a leader being started: the next scan decides.
            if ours && entry.pid == entry.sid && state.spawning > 0 { continue }
            if entry.isZombie {
                if ours && !state.leaders.contains(entry.pid) { _ = eb_reap_nohang(entry.pid) }
                continue
            }
            if state.leaders.contains(entry.sid) { continue }
            if state.sweeps[entry.sid] != nil {
                members[entry.sid, default: 0] += 1
                if let signal = actions[entry.sid] {
                    ProcessTable.signal(entry.pid, inSession: entry.sid, signal)
                    if signal == SIGTERM { ProcessTable.signal(entry.pid, inSession: entry.sid, SIGCONT) }
                }
                continue
            }
            guard ours else { continue }
            // Re-parented to the gateway, in no live or swept session: an escapee. Ours and not
            // reaped, so its pid cannot have been reused.
            escapees.insert(entry.pid)
            if state.abandoned.contains(entry.pid) { continue }
            if let at = state.escaped[entry.pid] {
                if now - at >= grace + Self.killPatience {
                    state.abandoned.insert(entry.pid)
                    state.escaped[entry.pid] = nil
                } else if now - at >= grace {
                    kill(entry.pid, SIGKILL)
                }
            } else {
                kill(entry.pid, SIGTERM)
                kill(entry.pid, SIGCONT)
                state.escaped[entry.pid] = now
            }
        }
        state.escaped = state.escaped.filter { escapees.contains($0.key) }
        state.abandoned = state.abandoned.filter { escapees.contains($0) }
        for (sid, var sweep) in state.sweeps {
            if state.leaders.contains(sid) || members[sid, default: 0] == 0 {
                state.sweeps[sid] = nil
                continue
            }
            if let at = sweep.killedAt, now - at >= Self.killPatience {
                state.sweeps[sid] = nil
                continue
            }
            if actions[sid] == SIGTERM { sweep.terminatedAt = now }
            if actions[sid] == SIGKILL, sweep.killedAt == nil { sweep.killedAt = now }
            state.sweeps[sid] = sweep
        }
    }
}
