import Glibc
import Reactor

/// Drives `ChildReaper` on a loop after a session ended, until nothing of that session (and no
/// escapee) is left: a scan at once, then more often at first and less later. Keeps itself alive
/// meanwhile; the reaper limits scans across all loops, so many sweeps cost one scan per interval.
final class SessionSweep {
    private let sid: pid_t
    private let loop: EventLoop
    private let grace: Double
    private let deadline: Double
    private var interval = 0.02
    private var timer: LoopTimer?
    private var keepAlive: SessionSweep?

    /// Starts sweeping the session led by `sid`.
    @discardableResult
    init(sid: pid_t, loop: EventLoop, grace: Double, reaper: ChildReaper = .shared) {
        self.sid = sid
        self.loop = loop
        self.grace = grace
        self.deadline = EventLoop.now() + grace + ChildReaper.killPatience + 1
        reaper.sessionEnded(sid, grace: grace)
        keepAlive = self
        loop.selfRetained += 1
        schedule(after: 0, reaper: reaper)
    }

    private func schedule(after seconds: Double, reaper: ChildReaper) {
        timer = LoopTimer(loop: loop, after: seconds) { [unowned self] in self.step(reaper) }
    }

    private func step(_ reaper: ChildReaper) {
        let now = EventLoop.now()
        reaper.tick(now: now, grace: grace, minimumInterval: interval / 2)
        guard (reaper.isSweeping(sid) || reaper.pendingWork > 0), now < deadline else {
            timer = nil
            keepAlive = nil
            loop.selfRetained -= 1
            return
        }
        interval = min(interval * 2, 0.25)
        schedule(after: interval, reaper: reaper)
    }
}
