import ExecModel

/// `--backend` and what goes with it: where sessions run.
public struct BackendSettings: Sendable {
    /// `local` (the embedded backend) or an upstream URL: `spdy://`, `spdys://`, `h2c://`,
    /// `h2c+upgrade://`, `h2://`, `ws://`, `wss://`.
    public var backend: String = "local"
    /// Inventory YAML for the local backend.
    public var inventory: String?

    // MARK: Upstream

    /// `--node-addresses`: YAML `node: address` for a `{node}` backend; only listed nodes exist.
    /// Nil: node names are resolved by DNS.
    public var nodeAddresses: String?

    /// The upstream exec path, with `{node}`, `{namespace}`, `{pod}`, `{container}` (and `{uid}`);
    /// the query (flags, `command`, `container` when the path has no `{container}`) is added.
    public var path: String = UpstreamPathTemplate.kubelet
    /// PEM CA bundle that the upstream's certificate must chain to (default: the system store).
    public var caFile: String?
    /// Client certificate and key presented to the upstream (exec sessions only).
    public var certFile: String?
    public var keyFile: String?
    /// The name the upstream's certificate must carry (default: the URL's host).
    public var serverName: String?
    public var insecureSkipTLSVerify = false
    /// `Authorization: Bearer` toward the upstream (exec sessions only): a literal, or a file
    /// re-read once a minute (rotated service-account tokens).
    public var token: String?
    public var tokenFile: String?
    /// Seconds to open the TCP connection (and TLS handshake) to the upstream.
    public var connectTimeout: Double = 10
    /// `--backend-max-sessions-per-connection`: sessions one pooled HTTP/2 upstream connection
    /// (`h2c://`, `h2://`) carries at most; the upstream's stream limit may lower it.
    public var maxSessionsPerConnection = 100
    /// Send `Impersonate-User` / `Impersonate-Group` / `Impersonate-Uid` from the request's identity.
    public var impersonate = false
    /// Forward requests that are not exec, attach or health to the upstream as plain HTTP/1.1.
    /// Nil: on for a remote backend, off for `local`.
    public var passthrough: Bool?
    /// Channel versions offered upstream, preferred first. Nil: every version the upstream
    /// generation has (v5…v1 over HTTP/2, v4…v1 over SPDY), whatever the client negotiated.
    /// A test and diagnosis knob (pins an upstream to one version); not a command-line option.
    public var versions: [ChannelVersion]?

    /// The token came from `--backend-token` (then every local user can read it in
    /// /proc/PID/cmdline, so the gateway warns and names the safer ways).
    public var tokenOnCommandLine = false

    /// Used when neither `--backend-token` nor `--backend-token-file` is given.
    public static let tokenEnvironmentVariable = "EXECBRIDGE_BACKEND_TOKEN"
    public static let commandLineTokenWarning = "--backend-token puts the token in the process's command line, "
        + "readable by every local user; use --backend-token-file FILE or the environment variable "
        + "\(tokenEnvironmentVariable) instead"

    public init() {}

    public var isLocal: Bool { backend == "local" }

    /// Takes the token from `EXECBRIDGE_BACKEND_TOKEN` when no flag gave one (an empty value is
    /// no token).
    public mutating func takeToken(fromEnvironment environment: [String: String]) {
        guard token == nil, tokenFile == nil, let value = environment[Self.tokenEnvironmentVariable], !value.isEmpty else {
            return
        }
        token = value
    }
}
