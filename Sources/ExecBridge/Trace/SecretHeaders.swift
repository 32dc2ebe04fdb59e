/// Header values that must never be written down (frame traces, audit records): credentials, and
/// the bearer token a WebSocket client carries inside its subprotocol offer. Names are matched
/// without regard to case everywhere: HTTP/1.1 names are case-insensitive, and an HTTP/2 or SPDY
/// peer that sends an uppercase name must not get its token past the filter.
enum SecretHeaders {
    static let redacted = "<redacted>"
    /// Whose whole value is hidden.
    static let names: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-remote-user"]
    static let bearerSubprotocolPrefix = BearerToken.webSocketPrefix

    /// True for a subprotocol offer that carries a bearer token, in any case (the one rule the
    /// authenticator also reads tokens by).
    static func isBearerSubprotocol(_ offer: some StringProtocol) -> Bool {
        BearerToken.isWebSocketToken(offer)
    }

    /// The value as it may be written: whole credentials replaced, bearer subprotocol offers
    /// reduced to their prefix. `name` in any case.
    static func value(name: some StringProtocol, value: [UInt8]) -> [UInt8] {
        let lower = name.lowercased()
        if names.contains(lower) { return Array(redacted.utf8) }
        guard lower == "sec-websocket-protocol" else { return value }
        let text = String(decoding: value, as: UTF8.self)
        guard text.split(separator: ",").contains(where: isBearerSubprotocol) else { return value }
        let offers = text.split(separator: ",", omittingEmptySubsequences: false).map { offer -> String in
            isBearerSubprotocol(offer) ? bearerSubprotocolPrefix + redacted : String(offer.trimmingWhitespace)
        }
        return Array(offers.joined(separator: ", ").utf8)
    }

    static func value(name: some StringProtocol, value: String) -> String {
        String(decoding: Self.value(name: name, value: Array(value.utf8)), as: UTF8.self)
    }
}
