import ExecModel
import Logging
import Reactor

/// Everything about the one upstream, resolved once at startup and shared (read-only) by every
/// loop: the address, the TLS contexts, the path template, the credentials.
public struct UpstreamConfig: Sendable {
    /// For a `{node}` backend, `addressed(to:)` gives each node's copy its own host.
    public internal(set) var url: UpstreamURL
    /// Resolved once: a name that later points elsewhere is not followed (restart to re-resolve).
    /// A `{node}` backend's own is a placeholder: sessions use their node's copy.
    public internal(set) var address: SocketAddress
    public let template: UpstreamPathTemplate
    /// The name the upstream's certificate must carry (SNI too, unless it is an IP literal).
    public internal(set) var serverName: String
    /// `{node}` backends: where each node is (nil for a fixed host).
    public let nodes: NodeDirectory?
    /// `--backend-server-name` was given: it holds for every node too.
    let fixedServerName: Bool
    /// Exec sessions: CA, client certificate, ALPN h2 for `h2://`.
    public let sessionTLS: TLSContext?
    /// Pooled connections: for `wss://` ALPN h2 then http/1.1 (RFC 8441 if the upstream has it);
    /// for `h2://` the session context.
    public let poolTLS: TLSContext?
    /// Passthrough: the same CA but no client certificate, ALPN http/1.1 (see `PassthroughProxy`).
    public let passthroughTLS: TLSContext?
    public let token: String?
    public let tokenFile: String?
    public let connectTimeout: Double
    public let impersonate: Bool
    public let passthrough: Bool
    /// Offered upstream, preferred first.
    public let versions: [ChannelVersion]
    /// client-go's keepalive toward the upstream.
    public var pingInterval: Double = 5
    /// Sessions per pooled HTTP/2 connection (`h2c://`, `h2://`).
    public let maxSessionsPerConnection: Int
    /// A pooled connection without sessions this long closes (one is kept for the next session).
    public var poolIdleTimeout: Double = 60
    /// After the TCP (and TLS) connect: the upgrade answer and every stream reply must come within this.
    public var sessionSetupTimeout: Double = 30

    /// `logger`: where a `{node}` backend's directory reports reloads of `--node-addresses`.
    public init(_ settings: BackendSettings, logger: Logger? = nil) throws {
        let url = try UpstreamURL(parsing: settings.backend)
        self.url = url
        (address, nodes) = try Self.addressing(url, settings, logger: logger ?? Logger(label: "execbridge"))
        template = try UpstreamPathTemplate(settings.path)
        serverName = settings.serverName ?? url.host
        fixedServerName = settings.serverName != nil
        guard settings.connectTimeout > 0 else { throw ConfigurationError("--backend-connect-timeout must be positive") }
        connectTimeout = settings.connectTimeout
        guard settings.maxSessionsPerConnection > 0 else {
            throw ConfigurationError("--backend-max-sessions-per-connection must be positive")
        }
        maxSessionsPerConnection = settings.maxSessionsPerConnection
        impersonate = settings.impersonate
        passthrough = settings.passthrough ?? !url.isNodeAddressed
        if passthrough, url.isNodeAddressed {
            throw ConfigurationError("--passthrough needs a fixed --backend host: a request that is not exec names no node")
        }
        switch url.scheme {
        case .spdy, .spdys: versions = settings.versions ?? [.v4, .v3, .v2, .v1]
        default: versions = settings.versions ?? [.v5, .v4, .v3, .v2, .v1]
        }
        guard (settings.certFile == nil) == (settings.keyFile == nil) else {
            throw ConfigurationError("--backend-cert and --backend-key go together")
        }
        if url.scheme.usesTLS {
            do {
                sessionTLS = try TLSContext(clientCA: settings.caFile, certificate: settings.certFile, key: settings.keyFile,
                                            alpn: url.scheme == .h2 ? ["h2"] : ["http/1.1"],
                                            insecure: settings.insecureSkipTLSVerify)
                poolTLS = url.scheme != .wss ? sessionTLS
                    : try TLSContext(clientCA: settings.caFile, certificate: settings.certFile, key: settings.keyFile,
                                     alpn: ["h2", "http/1.1"], insecure: settings.insecureSkipTLSVerify)
                passthroughTLS = try TLSContext(clientCA: settings.caFile, alpn: ["http/1.1"],
                                                insecure: settings.insecureSkipTLSVerify)
            } catch {
                throw ConfigurationError("backend TLS: \(error)")
            }
        } else {
            if settings.caFile != nil || settings.certFile != nil || settings.insecureSkipTLSVerify {
                throw ConfigurationError("--backend-ca, --backend-cert and --backend-insecure-skip-tls-verify need a TLS backend (spdys://, h2:// or wss://)")
            }
            sessionTLS = nil
            poolTLS = nil
            passthroughTLS = nil
        }
        guard settings.token == nil || settings.tokenFile == nil else {
            throw ConfigurationError("--backend-token and --backend-token-file exclude each other")
        }
        token = settings.token
        tokenFile = settings.tokenFile
        if let tokenFile, TokenFile.read(tokenFile) == nil {
            throw ConfigurationError("--backend-token-file \(tokenFile): cannot read a token from it")
        }
    }
}

/// A bearer token file, re-read at most once a minute (projected service-account tokens rotate).
/// One per loop: nothing here is shared between threads.
final class TokenFile {
    let path: String
    private var cached: String?
    private var readAt = -Double.infinity

    init(path: String) { self.path = path }

    var token: String? {
        let now = EventLoop.now()
        if now - readAt >= 60 || cached == nil {
            readAt = now
            if let fresh = Self.read(path) { cached = fresh }
        }
        return cached
    }

    /// The file's first line, trimmed; nil when unreadable, empty or over 16 KiB.
    static func read(_ path: String) -> String? {
        guard let bytes = SmallFile.read(path, limit: 16 * 1024) else { return nil }
        let line = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).first ?? []
        let text = String(decoding: line, as: UTF8.self).trimmingASCIIWhitespace
        return text.isEmpty ? nil : text
    }
}
