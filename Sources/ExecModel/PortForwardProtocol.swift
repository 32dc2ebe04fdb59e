/// The protocol names of port-forward (kubelet `pkg/kubelet/cri/streaming/portforward`).
public enum PortForwardProtocol {
    /// SPDY `X-Stream-Protocol-Version`, and a WebSocket subprotocol kubelet also accepts.
    public static let spdy = "portforward.k8s.io"
    /// The WebSocket tunnel of kubectl 1.31+: SPDY/3.1 frames in WebSocket binary messages.
    public static let tunnel = "SPDY/3.1+portforward.k8s.io"

    /// `X-Stream-Protocol-Version` of a SPDY port-forward upgrade: `portforward.k8s.io` must be
    /// offered (nothing offered: a client older than the header, accepted as kubelet does);
    /// otherwise 403 with the accepted version, as for exec.
    public static func negotiateSPDY(offered: [String]) -> Result<String?, RequestError> {
        if offered.isEmpty { return .success(nil) }
        if offered.contains(spdy) { return .success(spdy) }
        return .failure(RequestError(
            code: 403, reason: "Forbidden",
            message: "unable to upgrade: unable to negotiate protocol: client supports \(VersionNegotiation.goList(offered)), "
                + "server accepts [\(spdy)]",
            headers: [RequestError.HeaderLine("X-Accepted-Stream-Protocol-Versions", spdy)]))
    }
}

/// What a port-forward WebSocket upgrade speaks, chosen from the client's offers in its order.
public enum PortForwardWebSocketForm: Equatable, Sendable {
    /// kubectl's SPDY tunnel (`SPDY/3.1+portforward.k8s.io`).
    case tunnel
    /// kubelet's channel form: binary (`v4.channel.k8s.io`, or nothing offered and nothing echoed)
    /// or base64 (`v4.base64.channel.k8s.io`).
    case channels(base64: Bool, echoed: String?)

    public static func negotiate(_ offered: [String]) -> Result<PortForwardWebSocketForm, RequestError> {
        if offered.isEmpty { return .success(.channels(base64: false, echoed: nil)) }
        for token in offered {
            switch token {
            case PortForwardProtocol.tunnel: return .success(.tunnel)
            case WebSocketSubprotocol.v4.token: return .success(.channels(base64: false, echoed: token))
            case WebSocketSubprotocol.v4Base64.token: return .success(.channels(base64: true, echoed: token))
            default: continue
            }
        }
        let supported = [PortForwardProtocol.tunnel, WebSocketSubprotocol.v4.token, WebSocketSubprotocol.v4Base64.token]
        // A bearer token offered as a subprotocol (kubectl's WebSocket credentials) is never repeated back.
        let shown = offered.filter { !$0.hasPrefix("base64url.bearer.authorization.k8s.io.") }
        return .failure(.forbidden("requested protocol(s) are not supported: \(VersionNegotiation.goList(shown)); "
                                   + "supports \(VersionNegotiation.goList(supported))"))
    }

    /// The `Sec-WebSocket-Protocol` answered.
    public var echoed: String? {
        switch self {
        case .tunnel: return PortForwardProtocol.tunnel
        case .channels(_, let token): return token
        }
    }
}
