import ArgumentParser
import ExecBridge
import Glibc

/// Where sessions run.
struct BackendOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where sessions run: local (the embedded backend), or one upstream exec server: spdy://HOST:PORT, "
            + "spdys:// (TLS), h2c:// (HTTP/2 prior knowledge), h2c+upgrade:// (h2c upgrade), h2:// (TLS, ALPN h2), "
            + "ws:// or wss:// (the WebSocket channel protocol, v5 preferred).",
        valueName: "url"))
    var backend: String = "local"

    @Option(name: .long, help: ArgumentHelp(
        "Inventory YAML of pods and containers for the local backend; reloaded on SIGHUP. (default: any name accepted)",
        valueName: "file"))
    var inventory: String?

    @Option(name: .customLong("backend-path"), help: ArgumentHelp(
        "Upstream exec path with {node} {namespace} {pod} {container} {uid}; the query (command, flags) is added. "
            + "Kubelet form by default; also /api/v1/namespaces/{namespace}/pods/{pod}/exec, "
            + "/api/v1/nodes/{node}/proxy/exec/{namespace}/{pod}/{container}.",
        valueName: "template"))
    var backendPath: String = UpstreamPathTemplate.kubelet

    @Option(name: .customLong("node-addresses"), help: ArgumentHelp(
        "YAML of node: address (HOST, HOST:PORT, [IPV6]:PORT) for a --backend whose host is {node}; only listed nodes "
            + "are reachable. Reread when it changes and on SIGHUP. (default: node names resolved by DNS)",
        valueName: "file"))
    var nodeAddresses: String?

    @Option(name: .customLong("backend-ca"), help: ArgumentHelp("PEM CA bundle for the upstream's certificate (default: system store).", valueName: "file"))
    var backendCA: String?

    @Option(name: .customLong("backend-cert"), help: ArgumentHelp("PEM client certificate presented to the upstream.", valueName: "file"))
    var backendCert: String?

    @Option(name: .customLong("backend-key"), help: ArgumentHelp("PEM key for --backend-cert.", valueName: "file"))
    var backendKey: String?

    @Option(name: .customLong("backend-server-name"), help: ArgumentHelp(
        "Name the upstream's certificate must carry (default: the --backend host).", valueName: "name"))
    var backendServerName: String?

    @Flag(name: .customLong("backend-insecure-skip-tls-verify"), help: "Do not verify the upstream's certificate (tests only).")
    var backendInsecureSkipTLSVerify = false

    @Option(name: .customLong("backend-token"), help: ArgumentHelp(
        "Bearer token sent to the upstream with each exec session. Visible to local users in the command line: "
            + "prefer --backend-token-file or the environment variable \(BackendSettings.tokenEnvironmentVariable).",
        valueName: "token"))
    var backendToken: String?

    @Option(name: .customLong("backend-token-file"), help: ArgumentHelp("File holding the bearer token (re-read every minute).", valueName: "file"))
    var backendTokenFile: String?

    @Option(name: .customLong("backend-connect-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds to connect to the upstream.", valueName: "seconds"))
    var backendConnectTimeout: Double = 10

    @Option(name: .customLong("backend-max-sessions-per-connection"), parsing: .unconditional, help: ArgumentHelp(
        "Sessions one pooled HTTP/2 upstream connection carries at most (h2c://, h2://).", valueName: "n"))
    var backendMaxSessionsPerConnection = 100

    @Flag(name: .long, help: "Send Impersonate-User/-Group/-Uid headers naming the caller to the upstream.")
    var impersonate = false

    @Flag(name: .long, inversion: .prefixedNo, help: ArgumentHelp(
        "Forward requests that are not exec, attach or health to the upstream as plain HTTP/1.1 (default: on for a remote backend)."))
    var passthrough: Bool?

    func validate() throws {
        guard (backendCert == nil) == (backendKey == nil) else {
            throw ValidationError("--backend-cert and --backend-key go together")
        }
        guard backendToken == nil || backendTokenFile == nil else {
            throw ValidationError("--backend-token and --backend-token-file exclude each other")
        }
        guard backendConnectTimeout > 0 else {
            throw ValidationError("--backend-connect-timeout must be a positive number of seconds (got \(backendConnectTimeout))")
        }
        guard (1...100_000).contains(backendMaxSessionsPerConnection) else {
            throw ValidationError("--backend-max-sessions-per-connection must be between 1 and 100000 (got \(backendMaxSessionsPerConnection))")
        }
        if backend == "local" {
            let upstreamOnly = [backendCA, backendCert, backendToken, backendTokenFile, backendServerName, nodeAddresses].contains { $0 != nil }
                || backendInsecureSkipTLSVerify || impersonate || passthrough == true || backendPath != UpstreamPathTemplate.kubelet
            if upstreamOnly {
                throw ValidationError("the --backend-* options, --impersonate and --passthrough need a remote --backend "
                                      + "(e.g. --backend spdy://HOST:PORT); leave them out for the local backend")
            }
        }
    }

    func settings() -> BackendSettings {
        var settings = BackendSettings()
        settings.backend = backend
        settings.inventory = inventory
        settings.path = backendPath
        settings.caFile = backendCA
        settings.certFile = backendCert
        settings.keyFile = backendKey
        settings.serverName = backendServerName
        settings.nodeAddresses = nodeAddresses
        settings.insecureSkipTLSVerify = backendInsecureSkipTLSVerify
        settings.token = backendToken
        settings.tokenOnCommandLine = backendToken != nil
        settings.tokenFile = backendTokenFile
        if !settings.isLocal, let value = getenv(BackendSettings.tokenEnvironmentVariable) {
            settings.takeToken(fromEnvironment: [BackendSettings.tokenEnvironmentVariable: String(cString: value)])
        }
        settings.connectTimeout = backendConnectTimeout
        settings.maxSessionsPerConnection = backendMaxSessionsPerConnection
        settings.impersonate = impersonate
        settings.passthrough = passthrough
        return settings
    }
}
