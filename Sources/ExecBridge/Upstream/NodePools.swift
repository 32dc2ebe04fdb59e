import Logging
import Reactor

/// One loop's pooled HTTP/2 connections to a `{node}` backend: a pool per node (and address, so
/// that a moved node's new sessions go to its new address while the old pool serves out its
/// own). A pool is made when a node's first session comes, so only nodes seen are dialled ahead;
/// one without sessions for the idle timeout closes; at most `limit` exist, beyond which a
/// session dials a connection of its own. Confined to its loop.
final class NodePools {
    private let loop: EventLoop
    private let logger: Logger
    let limit: Int
    private var pools: [String: (pool: HTTP2UpstreamPool, idleSince: Double?)] = [:]
    private var sweep: LoopTimer?
    private var closed = false

    static let defaultLimit = 64

    init(loop: EventLoop, logger: Logger, limit: Int = NodePools.defaultLimit) {
        self.loop = loop
        self.logger = logger
        self.limit = limit
    }

    var count: Int { pools.count }

    /// The pool of `config` (already aimed at its node), made on first use; nil when `limit` pools
    /// are busy.
    func pool(for config: UpstreamConfig, node: String) -> HTTP2UpstreamPool? {
        guard !closed else { return nil }
        let key = "\(node) \(config.address)"
        if let entry = pools[key] {
            pools[key]?.idleSince = nil
            return entry.pool
        }
        if pools.count >= limit { closeIdle(olderThan: 0) }
        guard pools.count < limit else { return nil }
        let pool = HTTP2UpstreamPool(config: config, loop: loop, logger: logger)
        pool.warmUp()
        pools[key] = (pool, nil)
        if sweep == nil {
            let period = max(0.05, config.poolIdleTimeout / 2)
            let idleTimeout = config.poolIdleTimeout
            sweep = LoopTimer(loop: loop, after: period, repeats: true) { [weak self] in self?.closeIdle(olderThan: idleTimeout) }
        }
        return pool
    }

    /// Pools without sessions for `age` seconds close (0: every pool without sessions now).
    private func closeIdle(olderThan age: Double) {
        let now = EventLoop.now()
        for (key, entry) in pools {
            guard entry.pool.sessionCount == 0 else {
                pools[key]?.idleSince = nil
                continue
            }
            let since = entry.idleSince ?? now
            if now - since >= age {
                entry.pool.close()
                pools[key] = nil
                logger.debug("closed an idle node pool", metadata: ["pool": "\(key)"])
            } else if entry.idleSince == nil {
                pools[key]?.idleSince = now
            }
        }
    }

    func close() {
        closed = true
        sweep?.cancel()
        for entry in pools.values { entry.pool.close() }
        pools.removeAll()
    }
}
