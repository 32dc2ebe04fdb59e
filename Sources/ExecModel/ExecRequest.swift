/// Which container a session runs in.
public struct ExecTarget: Equatable, Sendable, CustomStringConvertible {
    /// Absent on forms that name no node (kubelet, apiserver).
    public var node: String?
    public var namespace: String
    public var pod: String
    /// Absent when the apiserver form omits it (the pod's only container is meant).
    public var container: String?
    /// The kubelet form `/exec/{ns}/{pod}/{uid}/{container}` carries the pod's UID.
    public var podUID: String?

    public init(node: String? = nil, namespace: String, pod: String, container: String?, podUID: String? = nil) {
        self.node = node
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.podUID = podUID
    }

    public var description: String {
        "\(namespace)/\(pod)/\(container ?? "-")" + (node.map { " on \($0)" } ?? "")
    }
}

/// The URL shapes an exec request can take (spec §1).
public enum PathForm: String, Sendable {
    case legacyProxy      // /proxy/minions/{node}/exec/{ns}/{pod}/{container}
    case currentProxy     // /proxy/nodes/{node}/exec/{ns}/{pod}/{container}
    case nodeProxy        // /api/v1/nodes/{node}/proxy/exec/{ns}/{pod}/{container}
    case kubelet          // /exec/{ns}/{pod}[/{uid}]/{container}
    case apiserver        // /api/v1/namespaces/{ns}/pods/{pod}/exec?container=
}

/// What the HTTP/1.1 request asks the connection to become.
public enum UpgradeKind: String, Sendable {
    case spdy      // Upgrade: SPDY/3.1
    case h2c       // Upgrade: h2c with HTTP2-Settings
    case websocket // Upgrade: websocket
    case none      // a plain request (or a direct HTTP/2 stream)
}

/// Who is asking. Filled by authentication; anonymous until then.
public struct Identity: Equatable, Sendable {
    public var user: String
    public var uid: String?
    public var groups: [String]

    public init(user: String, uid: String? = nil, groups: [String]) {
        self.user = user
        self.uid = uid
        self.groups = groups
    }

    public static let anonymous = Identity(user: "system:anonymous", groups: ["system:unauthenticated"])
}

/// One exec, attach or port-forward request, whatever generation and path form it came in on.
public struct ExecRequest: Equatable, Sendable {
    /// What the session does in the container.
    ///
    /// `portForward` travels in the same stream model as exec, one session per forwarded TCP
    /// connection (a tunnel): bytes toward the pod's port are `.data(.stdin)` (its end
    /// `.halfClose(.stdin)`), bytes from it `.data(.stdout)` (`.halfClose(.stdout)`), and the
    /// tunnel ends with `.exit`: success after an orderly close, a failure Status whose message the
    /// frontend writes on the tunnel's error stream (port not forwardable, connection refused).
    /// The connection-level request of a port-forward upgrade names its ports in `ports`; a
    /// tunnel's request names exactly one.
    public enum Kind: String, Sendable { case exec, attach, portForward = "portforward" }

    public var kind: Kind
    public var target: ExecTarget
    /// argv, exactly as given: one element per `command` value, never passed to a shell.
    public var command: [String]
    public var stdin: Bool
    public var stdout: Bool
    /// Already false when `tty` is set (stderr is merged into the terminal).
    public var stderr: Bool
    public var tty: Bool
    public var pathForm: PathForm
    /// The path and query as received (percent-encoded), for upstream forwarding and HTTP/2 checks.
    public var path: String
    /// `X-Stream-Protocol-Version` / `Sec-WebSocket-Protocol` values in the client's order.
    public var offeredVersions: [String]
    /// Set once negotiated.
    public var version: ChannelVersion
    public var generation: Generation?
    public var identity: Identity
    /// The pod ports of a port-forward request (empty for exec and attach).
    public var ports: [UInt16] = []

    public init(kind: Kind = .exec, target: ExecTarget, command: [String], stdin: Bool, stdout: Bool,
                stderr: Bool, tty: Bool, pathForm: PathForm, path: String, offeredVersions: [String] = [],
                version: ChannelVersion = .v1, generation: Generation? = nil, identity: Identity = .anonymous) {
        self.kind = kind
        self.target = target
        self.command = command
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = tty ? false : stderr
        self.tty = tty
        self.pathForm = pathForm
        self.path = path
        self.offeredVersions = offeredVersions
        self.version = version
        self.generation = generation
        self.identity = identity
    }

    /// The channels the client is expected to open (spec §3): error always; stdin, stdout if asked;
    /// stderr if asked and not a tty; resize for a tty from v3 on.
    public var expectedChannels: Set<Channel> {
        var channels: Set<Channel> = [.error]
        if stdin { channels.insert(.stdin) }
        if stdout { channels.insert(.stdout) }
        if stderr && !tty { channels.insert(.stderr) }
        if tty && version.hasResize { channels.insert(.resize) }
        return channels
    }
}
