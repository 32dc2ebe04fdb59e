import ExecModel

/// A `{node}` backend: each request's node decides the host, before any upgrade.
extension UpstreamBackend {
    /// Nil for a fixed host, and for a node that is where the request can go (or being resolved).
    func checkNode(_ request: ExecRequest) -> RequestError? {
        guard let nodes = config.nodes else { return nil }
        guard let node = request.target.node else {
            return .badRequest("the backend \(config.url.scheme.rawValue)://\(config.url.authority) is reached per node, "
                               + "and this request names none: use /api/v1/nodes/{node}/proxy/exec/… or /proxy/nodes/{node}/exec/…")
        }
        return Self.refusal(nodes.lookup(node), node: node)
    }

    /// The answer for a node that cannot be used: Kubernetes' wording for a missing node.
    static func refusal(_ lookup: NodeDirectory.Lookup, node: String) -> RequestError? {
        switch lookup {
        case .found, .pending: return nil
        case .notFound: return .notFound("nodes \"\(node)\" not found")
        case .unresolvable(let detail):
            return RequestError(code: 503, reason: "ServiceUnavailable", message: "error dialing backend: \(detail)")
        }
    }

    /// The configuration aimed at the request's node when it is known now; nil while it is being
    /// resolved or when it cannot be used. A fixed host: the configuration itself.
    func nodeConfig(for request: ExecRequest) -> UpstreamConfig? {
        guard let nodes = config.nodes else { return config }
        guard let node = request.target.node, case .found(let endpoint) = nodes.lookup(node) else { return nil }
        return config.addressed(to: endpoint)
    }
}
