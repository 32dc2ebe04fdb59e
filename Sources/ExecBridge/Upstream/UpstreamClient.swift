import ExecModel
import Reactor

/// What the upstream backend needs of a client role beyond `SessionEndpoint`: to be handed a
/// connection it dialed itself, and what it negotiated.
protocol UpstreamClient: SessionEndpoint {
    /// Speaks on `connection` from now on (TCP and TLS are up).
    func start(on connection: Connection)
    /// The channel version the upstream chose (nil until its answer).
    var version: ChannelVersion? { get }
    /// Every channel stream exists upstream.
    var isReady: Bool { get }
    /// Why the session failed on the client's side, for the log.
    var lastFailure: ExecStatus? { get }
}

extension SPDYExecClient: UpstreamClient {}
extension HTTP2ExecClient: UpstreamClient {}
extension WebSocketExecClient: UpstreamClient {}

extension UpstreamScheme {
    /// The client role for this scheme. One more generation (WebSocket) is one more case here and
    /// one in `UpstreamConfig.init`.
    func makeClient(options: ExecClientOptions, delegate: SessionEndpointDelegate, pingInterval: Double) -> UpstreamClient? {
        switch self {
        case .spdy, .spdys:
            return SPDYExecClient(options: options, delegate: delegate, pingInterval: pingInterval)
        case .h2c:
            return HTTP2ExecClient(options: options, transport: .priorKnowledge, delegate: delegate, pingInterval: pingInterval)
        case .h2cUpgrade:
            return HTTP2ExecClient(options: options, transport: .upgrade, delegate: delegate, pingInterval: pingInterval)
        case .h2:
            return HTTP2ExecClient(options: options, transport: .tls, delegate: delegate, pingInterval: pingInterval)
        case .ws, .wss:
            // v5 preferred (it carries stdin EOF), v4 as the fallback, binary framing; older
            // versions only when asked for explicitly.
            let offered = options.versions.compactMap { version in
                WebSocketSubprotocol.all.first { $0.version == version && !$0.base64 }
            }
            return WebSocketExecClient(options: options, subprotocols: offered.isEmpty ? [.v5, .v4] : offered,
                                       delegate: delegate, pingInterval: pingInterval)
        }
    }

    /// The generation this scheme speaks, for logs.
    var generation: Generation? {
        switch self {
        case .spdy, .spdys: return .spdy
        case .h2c, .h2cUpgrade, .h2: return .http2
        case .ws, .wss: return .websocket
        }
    }
}
