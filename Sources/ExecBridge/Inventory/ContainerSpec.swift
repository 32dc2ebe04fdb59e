/// One container of the inventory: what a local session runs with.
public struct ContainerSpec: Equatable, Sendable {
    public var name: String
    /// The child's working directory; `/` when absent.
    public var workingDir: String?
    /// Merged over the default environment (PATH, HOME, TERM for a tty).
    public var env: [String: String]
    /// `name`, `uid`, or either followed by `:group` / `:gid`. Honoured only when the gateway runs as root.
    public var user: String?
    /// Carried for authorization; the local backend itself grants nothing extra.
    public var privileged: Bool
    /// Ports a port-forward tunnel may reach on 127.0.0.1 (the pod's `ports` count too).
    public var ports: [UInt16] = []

    public init(name: String, workingDir: String? = nil, env: [String: String] = [:], user: String? = nil,
                privileged: Bool = false) {
        self.name = name
        self.workingDir = workingDir
        self.env = env
        self.user = user
        self.privileged = privileged
    }
}

/// One pod of the inventory.
public struct PodSpec: Equatable, Sendable {
    /// Absent: the pod answers to any node name.
    public var node: String?
    public var namespace: String
    public var name: String
    public var containers: [ContainerSpec]
    /// Ports a port-forward tunnel may reach on 127.0.0.1, besides those its containers list.
    public var ports: [UInt16] = []

    public init(node: String? = nil, namespace: String, name: String, containers: [ContainerSpec]) {
        self.node = node
        self.namespace = namespace
        self.name = name
        self.containers = containers
    }
}
