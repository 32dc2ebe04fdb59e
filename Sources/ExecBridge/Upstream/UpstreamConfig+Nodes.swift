import Logging
import Reactor

/// A `{node}` backend: the address is the session's node's, not the configuration's.
extension UpstreamConfig {
    /// The fixed host's address, or for `{node}` a placeholder and the directory of nodes
    /// (`--node-addresses` read and resolved now: a bad file stops the start with its line).
    static func addressing(_ url: UpstreamURL, _ settings: BackendSettings, logger: Logger) throws -> (SocketAddress, NodeDirectory?) {
        guard url.isNodeAddressed else {
            if settings.nodeAddresses != nil {
                throw ConfigurationError("--node-addresses needs a --backend whose host is {node} (e.g. spdys://{node}:10250)")
            }
            do {
                return (try SocketAddress(host: url.host, port: url.port), nil)
            } catch {
                throw ConfigurationError("--backend \(settings.backend): \(error)")
            }
        }
        let placeholder = try SocketAddress(host: "0.0.0.0", port: url.port)
        guard let path = settings.nodeAddresses else { return (placeholder, NodeDirectory(path: nil, hostPattern: url.host, logger: logger)) }
        let read = try ConfigurationError.naming("--node-addresses") { try NodeDirectory.read(path: path) }
        let directory = NodeDirectory(path: path, map: read.map, signature: read.signature, logger: logger)
        return (placeholder, directory)
    }

    /// This configuration aimed at one node: its address and port, the host its certificate must
    /// carry (unless `--backend-server-name` fixed one), the `Host` the upstream sees.
    func addressed(to endpoint: NodeEndpoint) -> UpstreamConfig {
        var copy = self
        let host = endpoint.host
        copy.url.host = host
        copy.url.port = endpoint.port ?? url.port
        copy.address = endpoint.address
        copy.address.port = copy.url.port
        if !fixedServerName { copy.serverName = host }
        return copy
    }
}
