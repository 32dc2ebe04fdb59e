/// The protocol versions the gateway serves per generation, shared by every front door (HTTP/1.1
/// upgrade, h2c, HTTP/2 prior knowledge and extended CONNECT).
public enum ServedVersions {
    /// Over SPDY v5 is never chosen (it only adds the WebSocket close signal), as stock servers do.
    public static let spdy: [ChannelVersion] = [.v4, .v3, .v2, .v1]
    public static let http2: [ChannelVersion] = [.v5, .v4, .v3, .v2, .v1]
    /// Subprotocols served, newest first (the client's order decides among them).
    public static let webSocketSubprotocols = WebSocketSubprotocol.all

    /// WebSocket negotiation: the request with its version and generation set, the subprotocol
    /// spoken, and the token to echo (none when the client offered none).
    public static func webSocket(offered: [String], request: ExecRequest)
        -> Result<(ExecRequest, WebSocketSubprotocol, String?), RequestError> {
        switch VersionNegotiation.negotiateWebSocket(offered: offered, supported: webSocketSubprotocols) {
        case .failure(let error):
            return .failure(error)
        case .success(let chosen):
            let subprotocol = chosen ?? .unnamed
            var request = request
            request.version = subprotocol.version
            request.offeredVersions = offered
            request.generation = .websocket
            return .success((request, subprotocol, chosen?.token))
        }
    }
}
