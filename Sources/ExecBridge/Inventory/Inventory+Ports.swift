import ExecModel

/// What port-forward asks of the inventory: a pod (not a container), and the ports it lists.
extension Inventory {
    /// The pod a port-forward request names, or the error to answer it with (404 for an unknown
    /// namespace or pod), as `lookup` words them.
    public func pod(_ target: ExecTarget) -> Result<PodSpec, RequestError> {
        let inNamespace = pods.filter { $0.namespace == target.namespace }
        guard !inNamespace.isEmpty else {
            return .failure(.notFound("namespaces \"\(target.namespace)\" not found"))
        }
        let found = inNamespace.first { pod in
            pod.name == target.pod && (pod.node == nil || target.node == nil || pod.node == target.node)
        }
        guard let found else { return .failure(.notFound("pods \"\(target.pod)\" not found")) }
        return .success(found)
    }
}

extension PodSpec {
    /// Every port a tunnel may reach: the pod's own `ports` and those of each of its containers
    /// (containers of a pod share its network namespace, so a port listed anywhere is the pod's).
    public var forwardablePorts: Set<UInt16> {
        containers.reduce(into: Set(ports)) { $0.formUnion($1.ports) }
    }

    /// A port-forward reaches every container's sockets: one privileged container makes it privileged.
    public var hasPrivilegedContainer: Bool { containers.contains { $0.privileged } }
}
