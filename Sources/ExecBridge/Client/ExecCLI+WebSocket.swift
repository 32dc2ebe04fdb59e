import ExecModel
import Reactor

/// `--protocol ws` is wired here, in one place, once `Client/WebSocketExecClient.swift` is part of
/// the build: return its client (a `SessionEndpoint`) and a closure that starts it. Until then the
/// CLI says that this build has no WebSocket client and exits 1.
extension ExecCLI {
    struct StartableClient {
        var endpoint: SessionEndpoint
        var start: (EventLoop, SocketAddress, TLSContext?, String?) -> Void
        /// Every channel is open: input may flow.
        var isReady: () -> Bool
    }

    static func makeWebSocketClient(options: ExecClientOptions, secure: Bool,
                                    delegate: SessionEndpointDelegate) -> StartableClient? {
        nil
    }

    /// Whether a WebSocket client's session was refused at the handshake (not started).
    static func webSocketRefused(_ client: SessionEndpoint?) -> Bool {
        false
    }
}
