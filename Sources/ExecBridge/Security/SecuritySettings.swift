import Logging
import Reactor

/// Who may exec: identity sources, policy, audit (`execbridge serve` flags in parentheses).
/// Empty settings on loopback addresses are the demo default: anonymous callers, no policy, no
/// audit; privileged inventory containers stay reserved to cluster admins even then.
public struct SecuritySettings: Sendable {
    /// `--client-ca FILE`: PEM CAs whose client certificates identify callers (user = CN, groups = O).
    /// Needs TLS; `ServeMain` hands it to the server's `TLSContext`.
    public var clientCA: String?
    /// `--token-file FILE`: kube-apiserver `--token-auth-file` CSV `token,user,uid,"group1,group2"`.
    public var tokenFile: String?
    /// `--allow-anonymous`: anonymous callers are accepted even on non-loopback addresses, or when
    /// an authenticator is configured.
    public var allowAnonymous = false
    /// `--policy FILE`: the YAML rules of `AccessPolicy`.
    public var policyFile: String?
    /// `--audit-log FILE|-`: one JSON line per session and per refusal.
    public var auditLog: String?
    /// `--audit-redact REGEX` (repeatable): replaces the default redaction; `default` includes it.
    public var auditRedact: [String] = []
    /// `--allow-origin ORIGIN` (repeatable): a web page origin (a web terminal) that may drive exec;
    /// every other browser-sent request is refused (`BrowserProvenance`).
    public var allowOrigins: [String] = []
    /// `--allow-host NAME` (repeatable): a `Host` accepted besides loopback names while anonymous
    /// callers are (DNS rebinding).
    public var allowHosts: [String] = []
    /// `--passthrough-forward-authorization`: passed-through requests keep the client's `Authorization`.
    public var passthroughForwardAuthorization = false
    /// How often, at most, the token file's mtime/size is looked at.
    var tokenReloadInterval: Double = 1

    public init() {}

    /// The safe default: anonymous exec only when every listen address is loopback and no
    /// authenticator is configured. Any other address needs `--token-file` or `--client-ca`, or
    /// the explicit `--allow-anonymous` (warned about); otherwise the gateway refuses to start.
    static func anonymousAllowed(listen: [String], authenticators: Bool, allowAnonymous: Bool,
                                 logger: Logger) throws -> Bool {
        let exposed = listen.filter { !isLoopback($0) }
        if allowAnonymous {
            if !exposed.isEmpty {
                logger.warning("--allow-anonymous: anyone who can reach these addresses may run commands without credentials",
                               metadata: ["addresses": "\(exposed.joined(separator: " "))"])
            }
            return true
        }
        if authenticators { return false }
        guard exposed.isEmpty else {
            throw ConfigurationError(
                "refusing to serve exec without authentication on \(exposed.joined(separator: ", ")): "
                + "that is not a loopback address, so anyone who can reach it could run commands. "
                + "Give --token-file FILE or --client-ca FILE (with --tls-cert/--tls-key), listen on 127.0.0.1 or [::1] only, "
                + "or accept the risk with --allow-anonymous")
        }
        return true
    }

    /// A listen address is loopback when it resolves to 127.0.0.0/8 or ::1. Anything unparsable
    /// counts as exposed (the bind then fails with its own message).
    static func isLoopback(_ listen: String) -> Bool {
        (try? SocketAddress(parsing: listen))?.isLoopback ?? false
    }
}

/// Installs the security steps in one worker's pipeline: identity and authorization before any
/// other admission step, and the audit observer.
struct SecurityExtension: PipelineExtension {
    var browsers: BrowserProvenance.Rules
    var passthroughForwardAuthorization: Bool
    var certificates: Bool
    var anonymousAllowed: Bool
    var tokenFile: String?
    var tokens: TokenTable?
    var tokenSignature: SecurityFiles.Signature?
    var tokenReloadInterval: Double
    var policy: AccessPolicy?
    var audit: AuditLog?
    var auditRedact: [String]

    func install(into pipeline: RequestPipeline) {
        let logger = pipeline.logger
        var watcher: TokenFileWatcher?
        if let tokenFile, let tokens {
            watcher = TokenFileWatcher(path: tokenFile, table: tokens, signature: tokenSignature,
                                       interval: tokenReloadInterval, logger: logger)
        }
        let authenticator = Authenticator(options: .init(certificates: certificates, anonymousAllowed: anonymousAllowed),
                                          tokens: watcher, logger: logger)
        let inventory = pipeline.backend.inventory
        let authorizer = Authorizer(policy: policy, inventory: inventory, logger: logger)
        pipeline.admissionSteps.insert(contentsOf: [authenticator, authorizer] as [AdmissionStep], at: 0)
        pipeline.gates.insert(BrowserProvenance(rules: browsers), at: 0)
        pipeline.authenticator = authenticator
        pipeline.targetAuthorizer = authorizer
        pipeline.passthroughForwardsAuthorization = passthroughForwardAuthorization
        if let audit, let redactor = try? AuditRedactor(patterns: auditRedact) {
            pipeline.observers.append(AuditObserver(log: audit, redactor: redactor, backend: pipeline.backend, logger: logger))
        }
    }
}
