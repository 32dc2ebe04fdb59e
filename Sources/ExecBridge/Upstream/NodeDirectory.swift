import ExecModel
import Logging
import Reactor
import Synchronization

/// Where each node of a `{node}` backend (`spdys://{node}:10250`) is dialled, shared by every
/// loop. Two modes, chosen by whether `--node-addresses` is given:
/// - a file: only the nodes it lists exist (the request picks the host the gateway dials, so an
///   unlisted name must not reach DNS); the file is reread when it changes and on SIGHUP;
/// - no file: a node name is resolved by DNS, off the loops, and cached for a short while.
/// No getaddrinfo ever runs on a loop; the lock is taken once per session admission.
public final class NodeDirectory: Sendable {
    /// Where a node is, as a session admission sees it.
    public enum Lookup: Equatable, Sendable {
        case found(NodeEndpoint)
        /// Not in the file, or no such name in DNS: `nodes "x" not found`.
        case notFound
        /// Listed, but its host does not resolve (the detail says why).
        case unresolvable(String)
        /// Being resolved (DNS mode): the session waits for `whenResolved`.
        case pending
    }

    let path: String?
    /// DNS mode: the `--backend` host, `{node}` standing for the name (`{node}.nodes.internal`).
    let hostPattern: String
    private let logger: Logger
    private let state: Mutex<State>
    /// A changed file is noticed at most this often (a stat on the loop that asks).
    let checkInterval: Double
    /// DNS answers are kept this long (seconds), failures for less.
    static let positiveTTL = 30.0
    static let negativeTTL = 5.0
    /// Bounds on what request-chosen names can make the gateway hold or do at once.
    static let maxCachedNames = 4096
    static let maxLookupsInFlight = 16

    private struct Cached {
        var lookup: Lookup
        var expires: Double
    }

    private struct State {
        var map: [String: Lookup] = [:]
        var signature: SecurityFiles.Signature?
        var failedSignature: SecurityFiles.Signature??
        var lastCheck = -Double.infinity
        var loading = false
        var cache: [String: Cached] = [:]
        var waiters: [String: [@Sendable (Lookup) -> Void]] = [:]
    }

    /// `path` nil: DNS mode. With a path, `map` is the file's content as read at start, when it
    /// had `signature` (a change after that read is picked up by the next check).
    init(path: String?, map: [String: Lookup] = [:], signature: SecurityFiles.Signature? = nil,
         hostPattern: String = UpstreamURL.nodeVariable, checkInterval: Double = 1, logger: Logger) {
        self.path = path
        self.hostPattern = hostPattern
        self.logger = logger
        self.checkInterval = checkInterval
        var initial = State()
        initial.map = map
        initial.signature = signature
        initial.lastCheck = EventLoop.now()
        state = Mutex(initial)
    }

    /// Reads, validates and resolves `path` (blocking: start-up, the reload thread).
    static func read(path: String) throws -> (map: [String: Lookup], signature: SecurityFiles.Signature?) {
        let signature = SecurityFiles.signature(path)
        return (resolve(try NodeAddresses.load(path: path)), signature)
    }

    /// Each entry's address, resolved now (blocking).
    static func resolve(_ addresses: NodeAddresses) -> [String: Lookup] {
        var map: [String: Lookup] = [:]
        for (node, entry) in addresses.entries {
            map[node] = endpoint(node: node, host: entry.host, port: entry.port)
        }
        return map
    }

    static func endpoint(node: String, host: String, port: UInt16?) -> Lookup {
        guard let address = try? SocketAddress(host: host, port: port ?? 0) else {
            return .unresolvable("dial tcp: lookup \(host): no such host")
        }
        return .found(NodeEndpoint(node: node, host: host, port: port, address: address))
    }

    /// Where `node` is now. A name that is no DNS-1123 subdomain is never looked up.
    public func lookup(_ node: String) -> Lookup {
        guard KubernetesNames.dns1123SubdomainErrors(node).isEmpty else { return .notFound }
        if path != nil {
            refreshIfChanged()
            return state.withLock { $0.map[node] ?? .notFound }
        }
        let now = EventLoop.now()
        enum Step { case answer(Lookup), start, wait }
        let step = state.withLock { state -> Step in
            if let cached = state.cache[node], cached.expires > now { return .answer(cached.lookup) }
            if state.waiters[node] != nil { return .wait }
            guard state.waiters.count < Self.maxLookupsInFlight else {
                return .answer(.unresolvable("too many node names are being resolved at once; try again"))
            }
            state.waiters[node] = []
            return .start
        }
        switch step {
        case .answer(let lookup): return lookup
        case .start: resolveInBackground(node)
        case .wait: break
        }
        return .pending
    }

    /// Calls `body` on `loop` once `node` (pending) is resolved; at once if it already is.
    public func whenResolved(_ node: String, on loop: EventLoop, _ body: @escaping @Sendable (Lookup) -> Void) {
        let ready: Lookup? = state.withLock { state in
            if state.waiters[node] != nil {
                state.waiters[node]!.append { result in loop.execute { body(result) } }
                return nil
            }
            return state.cache[node]?.lookup ?? .notFound
        }
        if let ready { loop.execute { body(ready) } }
    }

    private func resolveInBackground(_ node: String) {
        ReloadThread.start { [self] in
            let result = Self.endpoint(node: node, host: hostPattern.replacing(UpstreamURL.nodeVariable, with: node), port: nil)
            // A name DNS does not know is a node that does not exist.
            let lookup: Lookup = if case .unresolvable = result { .notFound } else { result }
            let ttl = if case .found = lookup { Self.positiveTTL } else { Self.negativeTTL }
            let waiting = state.withLock { state in
                if state.cache.count >= Self.maxCachedNames {
                    let now = EventLoop.now()
                    state.cache = state.cache.filter { $0.value.expires > now }
                    if state.cache.count >= Self.maxCachedNames { state.cache.removeAll() }
                }
                state.cache[node] = Cached(lookup: lookup, expires: EventLoop.now() + ttl)
                return state.waiters.removeValue(forKey: node) ?? []
            }
            for waiter in waiting { waiter(lookup) }
        }
    }

    // MARK: The file

    /// A map a SIGHUP reload read and validated.
    func replace(_ map: [String: Lookup], signature: SecurityFiles.Signature?) {
        state.withLock { state in
            state.map = map
            state.signature = signature
            state.failedSignature = nil
            state.lastCheck = EventLoop.now()
        }
    }

    /// At most once per `checkInterval`: a stat; a changed file is read on a thread of its own,
    /// and sessions use the previous map until it is in.
    private func refreshIfChanged() {
        guard let path else { return }
        let now = EventLoop.now()
        let due = state.withLock { state -> Bool in
            guard !state.loading, now - state.lastCheck >= checkInterval else { return false }
            state.lastCheck = now
            return true
        }
        guard due else { return }
        let seen = SecurityFiles.signature(path)
        let changed = state.withLock { state -> Bool in
            guard seen != state.signature, state.failedSignature != .some(seen) else { return false }
            state.loading = true
            return true
        }
        guard changed else { return }
        ReloadThread.start { [self] in
            do {
                let map = Self.resolve(try NodeAddresses.load(path: path))
                state.withLock { state in
                    state.map = map
                    state.signature = seen
                    state.failedSignature = nil
                    state.loading = false
                }
                logger.info("node addresses reloaded", metadata: ["path": "\(path)", "nodes": "\(map.count)"])
            } catch {
                // Once per version of the file: a half-written file keeps every node reachable.
                state.withLock { state in
                    state.failedSignature = .some(seen)
                    state.loading = false
                }
                logger.error("node addresses not reloaded; keeping the previous map",
                             metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }
}

/// Where one node's sessions go.
public struct NodeEndpoint: Equatable, Sendable {
    public var node: String
    /// The host as dialled: the file's address, or the node name (DNS mode). The certificate
    /// must carry it (a name, or the IP for an IP entry), and it is the `Host` the upstream sees.
    public var host: String
    /// The file's port for this node; nil: the `--backend` port.
    public var port: UInt16?
    /// Resolved; its port is set when dialled.
    public var address: SocketAddress

    public static func == (a: NodeEndpoint, b: NodeEndpoint) -> Bool {
        a.node == b.node && a.host == b.host && a.port == b.port && a.address.description == b.address.description
    }
}
