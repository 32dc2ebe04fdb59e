import Synchronization

/// `--max-connections`, gateway-wide: connections live on every loop, so the count is shared.
/// At the limit every worker stops accepting (the kernel's backlog holds newcomers) until a
/// connection closes; idle keep-alive connections are closed first to make room.
final class ConnectionGate: @unchecked Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    /// Set once before the loops start, read-only after. Weak: every worker holds the gate, and a
    /// strong reference back kept the whole gateway (loops, workers) alive after it stopped.
    private var held: [WeakWorker] = []
    private var workers: [Worker] { held.compactMap(\.worker) }

    private struct WeakWorker {
        weak var worker: Worker?
    }

    init(limit: Int) { self.limit = limit }

    func attach(_ workers: [Worker]) { held = workers.map { WeakWorker(worker: $0) } }

    var open: Int { count.load(ordering: .relaxed) }

    /// One more connection on `worker` (its loop). At the limit, closes the gate and asks for room.
    func opened(on worker: Worker) {
        let now = count.add(1, ordering: .relaxed).newValue
        guard now >= limit, closed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        worker.config.logger.notice("connection limit reached: accepting paused", metadata: ["limit": "\(limit)"])
        // This loop at once (libevent checks between two accepts of one wake-up), the others soon:
        // a connection they accept meanwhile goes over the limit by one.
        worker.setAcceptPaused(byLimit: true)
        for other in workers where other !== worker {
            other.loop.execute { [other = UncheckedBox(other)] in other.value.setAcceptPaused(byLimit: true) }
        }
    }

    /// A client waits in `worker`'s accept queue while the gate is closed: make room by closing an
    /// idle keep-alive connection, on this loop if it has one, else on another.
    func needRoom(on worker: Worker) {
        guard !worker.closeOneIdleKeepAlive() else { return }
        for other in workers where other !== worker {
            other.loop.execute { [other = UncheckedBox(other)] in _ = other.value.closeOneIdleKeepAlive() }
        }
    }

    func closedOne() {
        let now = count.subtract(1, ordering: .relaxed).newValue
        guard now < limit, closed.compareExchange(expected: true, desired: false, ordering: .relaxed).exchanged else { return }
        for other in workers { other.loop.execute { [other = UncheckedBox(other)] in other.value.setAcceptPaused(byLimit: false) } }
    }
}
