/// A `Sec-WebSocket-Protocol` of the exec channel protocol (spec §2, §6).
public struct WebSocketSubprotocol: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The channel semantics the subprotocol carries.
    public var version: ChannelVersion
    /// Text messages: `'0'+channel` then standard base64; otherwise binary: channel byte then payload.
    public var base64: Bool
    /// The token as offered and echoed.
    public var token: String

    public init(version: ChannelVersion, base64: Bool, token: String) {
        self.version = version
        self.base64 = base64
        self.token = token
    }

    public static let v5 = WebSocketSubprotocol(version: .v5, base64: false, token: "v5.channel.k8s.io")
    public static let v4 = WebSocketSubprotocol(version: .v4, base64: false, token: "v4.channel.k8s.io")
    public static let v4Base64 = WebSocketSubprotocol(version: .v4, base64: true, token: "v4.base64.channel.k8s.io")
    /// The kubelet's pre-v4 WebSocket protocol: plain-text errors, but a resize channel when a tty is asked
    /// (kubelet `websocket.go` creates it for every pre-v4 subprotocol), which is v3 semantics here.
    public static let preV4 = WebSocketSubprotocol(version: .v3, base64: false, token: "channel.k8s.io")
    public static let preV4Base64 = WebSocketSubprotocol(version: .v3, base64: true, token: "base64.channel.k8s.io")
    /// What a client that offers no subprotocol gets (nothing is echoed): binary, pre-v4 semantics.
    public static let unnamed = WebSocketSubprotocol(version: .v3, base64: false, token: "")

    /// Every subprotocol ExecBridge speaks, newest first.
    public static let all: [WebSocketSubprotocol] = [.v5, .v4, .v4Base64, .preV4, .preV4Base64]

    public init?(token: String) {
        guard let known = Self.all.first(where: { $0.token == token }) else { return nil }
        self = known
    }

    public var description: String { token.isEmpty ? "(none)" : token }
}
