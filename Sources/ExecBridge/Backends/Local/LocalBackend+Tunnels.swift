import ExecModel
import Reactor

extension LocalBackend {
    /// One port-forward tunnel: the ports the inventory lists for the pod (on the pod or any of its
    /// containers) are the only ones reachable; without an inventory, none.
    func startTunnel(_ request: ExecRequest, on loop: EventLoop, delegate: SessionEndpointDelegate) -> SessionEndpoint {
        var allowed: Set<UInt16>?
        if let inventory {
            if case .success(let pod) = inventory.pod(request.target) { allowed = pod.forwardablePorts } else { allowed = [] }
        }
        var tunnelLogger = logger
        tunnelLogger[metadataKey: "target"] = "\(request.target.namespace)/\(request.target.pod)"
        return LocalTunnelSession(request: request, allowed: allowed, loop: loop, delegate: delegate, logger: tunnelLogger)
    }
}
