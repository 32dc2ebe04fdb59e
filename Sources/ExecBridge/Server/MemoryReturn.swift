import CSystem
import Glibc
import Reactor

/// Gives the memory of a burst back to the system once a worker goes quiet.
///
/// A burst of sessions (each with its socket buffers, evbuffer chains and channel budget) grows the loop
/// thread's malloc arena; when the sessions end, glibc keeps the freed chunks (it returns only the top of an
/// arena, and a single live chunk above the free ones pins everything below it). Measured: 1,000 concurrent
/// streaming sessions left an idle gateway at 721 MB. `malloc_trim(0)` hands every whole free page of every
/// arena back (MADV_DONTNEED); it costs a walk of the free lists, so it runs only once connections and sessions
/// have stopped ending for `quietPeriod`: never in the middle of steady traffic, where the pages would fault
/// right back in.
final class MemoryReturn {
    private let loop: EventLoop
    private let quietPeriod: Double
    /// Sessions the backend still holds: a process outlives its connection by its grace period (SIGTERM after
    /// 5 s) and its buffers go only when it is reaped.
    private let backendSessions: () -> Int
    private var timer: LoopTimer?
    private var endedSinceTrim = 0
    private var backendAtTrim = 0
    private var checksLeft = 0
    /// Trims done (tests).
    private(set) var trims = 0

    init(loop: EventLoop, quietPeriod: Double = 1, backendSessions: @escaping () -> Int = { 0 }) {
        self.loop = loop
        self.quietPeriod = quietPeriod
        self.backendSessions = backendSessions
    }

    /// A connection or a session of this worker ended: trim after the next quiet period, and again as the
    /// backend lets go of what it still held.
    func somethingEnded() {
        endedSinceTrim += 1
        // Long enough to outlast the local backend's grace period.
        checksLeft = 10
        if let timer, timer.isActive {
            timer.restart()
        } else {
            timer = LoopTimer(loop: loop, after: quietPeriod) { [unowned self] in self.quiet() }
        }
    }

    private func quiet() {
        timer = nil
        let held = backendSessions()
        if endedSinceTrim > 0 || held < backendAtTrim {
            endedSinceTrim = 0
            trims += 1
            _ = eb_malloc_trim()
        }
        // Keep looking while the backend is still letting go (5,000 processes take a while to reap).
        if held != backendAtTrim { checksLeft = 10 }
        backendAtTrim = held
        checksLeft -= 1
        if checksLeft > 0 && held > 0 {
            timer = LoopTimer(loop: loop, after: quietPeriod) { [unowned self] in self.quiet() }
        }
    }

    func cancel() {
        timer?.cancel()
        timer = nil
    }
}
