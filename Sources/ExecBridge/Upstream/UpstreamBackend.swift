import ExecModel
import Logging
import Reactor

/// The single upstream backend: each session is forwarded over its own connection to one exec
/// server (a kubelet, a container runtime's streaming server, another gateway), in the generation
/// `--backend` names. One per loop; nothing here is shared between threads.
public final class UpstreamBackend: Backend, BackendActivity {
    public let config: UpstreamConfig
    private let logger: Logger
    private let tokenFile: TokenFile?
    public private(set) var activeSessions = 0
    /// `h2c://`, `h2://`: this loop's shared connections.
    private var pool: HTTP2UpstreamPool?
    private var warmUp: LoopTimer?
    /// `{node}` backends: this loop's pools, one per node seen.
    private var nodePools: NodePools?

    /// `loop`: the worker's, when known at creation: the pool then dials its first connection
    /// as the loop starts, before any session asks.
    public init(config: UpstreamConfig, logger: Logger, loop: EventLoop? = nil) {
        self.config = config
        self.logger = logger
        self.tokenFile = config.tokenFile.map(TokenFile.init(path:))
        if let loop, config.url.scheme.pools, config.nodes == nil {
            let pool = HTTP2UpstreamPool(config: config, loop: loop, logger: logger)
            self.pool = pool
            // Created before the loop runs (the worker's init): the dial goes out on its first turn.
            warmUp = LoopTimer(loop: loop, after: 0) { [weak pool] in pool?.warmUp() }
        }
    }

    /// The worker stops: pooled connections close.
    public func closeConnections() {
        pool?.close()
        nodePools?.close()
    }

    private func pool(on loop: EventLoop, for config: UpstreamConfig, node: String?) -> HTTP2UpstreamPool? {
        guard config.url.scheme.pools else { return nil }
        // A fixed host has one pool, whatever node a request names.
        if self.config.nodes != nil, let node {
            if nodePools == nil { nodePools = NodePools(loop: loop, logger: logger) }
            return nodePools?.pool(for: config, node: node)
        }
        if let pool { return pool }
        let created = HTTP2UpstreamPool(config: config, loop: loop, logger: logger)
        created.warmUp()
        pool = created
        return created
    }

    /// Any well-formed target may go: the upstream decides whether it exists and who may use it.
    /// Only a request the path template cannot express is refused here (400, before any upgrade),
    /// and for a `{node}` backend one whose node is missing (400) or unknown (404).
    public func check(_ request: ExecRequest) -> RequestError? {
        if request.kind == .portForward { return config.template.checkPortForward(request) ?? checkNode(request) }
        return config.template.check(request) ?? checkNode(request)
    }

    public func startSession(_ request: ExecRequest, on loop: EventLoop, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        if config.nodes != nil { return NodeSession(request: request, backend: self, loop: loop, delegate: delegate) }
        return makeSession(request, on: loop, config: config, delegate: delegate)
    }

    /// One session (an exec or attach session, or a port-forward tunnel) to `config`'s upstream: a
    /// `{node}` backend's is addressed to the request's node.
    func makeSession(_ request: ExecRequest, on loop: EventLoop, config: UpstreamConfig,
                     delegate: SessionEndpointDelegate) -> SessionEndpoint {
        if request.kind == .portForward { return makePortForwardSession(request, on: loop, config: config, delegate: delegate) }
        return makeExecSession(request, on: loop, config: config, delegate: delegate)
    }

    /// A connection per session (SPDY, WebSocket, h2c upgrade): dialled at admission, in parallel
    /// with the client opening its streams.
    public func prepareSession(_ request: ExecRequest, on loop: EventLoop) -> PreparedSession? {
        // A tunnel is dialled when its bridge starts (docs/upstream.md, port-forward).
        if request.kind == .portForward { return nil }
        // Pooled HTTP/2 sessions open their error stream now and the rest when started; RFC 8441
        // has nothing to hold back (the CONNECT starts the session upstream).
        guard let config = nodeConfig(for: request) else { return nil }
        if let pool = pool(on: loop, for: config, node: request.target.node), pool.carriesSessions, config.url.scheme == .wss {
            return nil
        }
        return makeExecSession(request, on: loop, config: config, delegate: nil)
    }

    private func makeExecSession(_ request: ExecRequest, on loop: EventLoop, config: UpstreamConfig,
                                 delegate: SessionEndpointDelegate?) -> UpstreamSession {
        activeSessions += 1
        var sessionLogger = logger
        sessionLogger[metadataKey: "target"] = "\(request.target)"
        sessionLogger[metadataKey: "upstream"] = "\(config.url.scheme.rawValue)://\(config.url.authority)"
        return UpstreamSession(request: request, options: clientOptions(for: request, config: config), config: config, loop: loop,
                               pool: pool(on: loop, for: config, node: request.target.node), delegate: delegate,
                               logger: sessionLogger) { [weak self] in
            self?.activeSessions -= 1
        }
    }

    /// One port-forward tunnel, in the upstream's generation (`UpstreamPortForwardSession`).
    private func makePortForwardSession(_ request: ExecRequest, on loop: EventLoop, config: UpstreamConfig,
                                        delegate: SessionEndpointDelegate) -> SessionEndpoint {
        activeSessions += 1
        var options = ExecClientOptions(authority: config.url.authority, path: config.template.expandPortForward(request),
                                        stdin: false, stdout: false, stderr: false, tty: false)
        options.headers = headers(for: request)
        var sessionLogger = logger
        sessionLogger[metadataKey: "target"] = "\(request.target.namespace)/\(request.target.pod):\(request.ports.first ?? 0)"
        return UpstreamPortForwardSession(request: request, options: options, config: config, loop: loop, pool: pool(on: loop, for: config, node: request.target.node),
                                          delegate: delegate, logger: sessionLogger) { [weak self] in self?.activeSessions -= 1 }
    }

    /// The upstream request: path from the template, the client's channels, every version the
    /// upstream generation has (not the client's: the bridge translates), and the credentials.
    func clientOptions(for request: ExecRequest, config: UpstreamConfig? = nil) -> ExecClientOptions {
        let config = config ?? self.config
        var options = ExecClientOptions(authority: config.url.authority, path: config.template.expand(request),
                                        stdin: request.stdin, stdout: request.stdout, stderr: request.stderr,
                                        tty: request.tty)
        options.method = "POST"
        options.versions = config.versions
        options.headers = headers(for: request)
        return options
    }

    func headers(for request: ExecRequest) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("User-Agent", "execbridge/\(ExecBridgeVersion.string)")]
        if let token = config.token ?? tokenFile?.token {
            headers.append(("Authorization", "Bearer \(token)"))
        }
        if config.impersonate {
            headers.append(("Impersonate-User", request.identity.user))
            if let uid = request.identity.uid { headers.append(("Impersonate-Uid", uid)) }
            for group in request.identity.groups { headers.append(("Impersonate-Group", group)) }
        }
        return headers
    }
}

/// The backend side of the audit record: which upstream, in which generation.
extension UpstreamBackend: AuditedBackend {
    public func auditSide(of session: SessionRecord) -> AuditBackendSide {
        // A `{node}` backend's record names the session's node.
        let authority = session.request.target.node.map { config.url.authority.replacing(UpstreamURL.nodeVariable, with: $0) }
        return AuditBackendSide(kind: "upstream", address: "\(config.url.scheme.rawValue)://\(authority ?? config.url.authority)",
                         generation: config.url.scheme.generation?.rawValue)
    }
}
