import ExecModel
import Reactor

/// `--protocol ws`: the WebSocket channel-protocol client (v5 preferred, v4 fallback).
extension ExecCLI {
    struct StartableClient {
        var endpoint: SessionEndpoint
        var start: (EventLoop, SocketAddress, TLSContext?, String?) -> Void
        /// Every channel is open: input may flow.
        var isReady: () -> Bool
    }

    static func makeWebSocketClient(options: ExecClientOptions, secure: Bool,
                                    delegate: SessionEndpointDelegate) -> StartableClient? {
        // --version-list picks the subprotocols to offer; the default is v5 then v4.
        let offered = options.versions.isEmpty ? [] : options.versions.compactMap { version -> WebSocketSubprotocol? in
            WebSocketSubprotocol.all.first { $0.version == version && !$0.base64 }
        }
        let client = WebSocketExecClient(options: options, subprotocols: offered.isEmpty ? [.v5, .v4] : offered,
                                         delegate: delegate)
        return StartableClient(endpoint: client,
                               start: { loop, address, tls, name in client.start(loop: loop, address: address, tls: tls, serverName: name) },
                               isReady: { client.isReady })
    }

    /// Whether a WebSocket client's session was refused at the handshake (not started).
    static func webSocketRefused(_ client: SessionEndpoint?) -> Bool {
        guard let client = client as? WebSocketExecClient else { return false }
        return client.subprotocol == nil && client.lastFailure != nil
    }
}
