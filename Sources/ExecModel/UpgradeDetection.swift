extension UpgradeKind {
    /// What an HTTP/1.1 request asks to become. Tokens are already lowercased (HTTPHeaders.tokens).
    /// `Connection` must list `upgrade` (also inside e.g. `close, Upgrade`, which proxies send:
    /// kubernetes/kubernetes#67329); the first `Upgrade` token ExecBridge speaks wins. h2c needs an
    /// `HTTP2-Settings` header (RFC 7540 §3.2), without it the token is passed over.
    public static func detect(connectionTokens: [String], upgradeTokens: [String], hasHTTP2Settings: Bool) -> UpgradeKind {
        guard connectionTokens.contains("upgrade") else { return .none }
        for token in upgradeTokens {
            switch token {
            case "spdy/3.1": return .spdy
            case "websocket": return .websocket
            case "h2c" where hasHTTP2Settings: return .h2c
            default: continue
            }
        }
        return .none
    }
}
