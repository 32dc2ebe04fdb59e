/// Channel protocol version negotiation (spec §2): the client's order wins.
public enum VersionNegotiation {
    /// The offers of a header: one per line and comma-folded (proxies join repeated lines: dotnet/yarp#467),
    /// trimmed, empties dropped. Case is kept: tokens are compared exactly, as Kubernetes does.
    public static func splitOffers(_ headerLines: [String]) -> [String] {
        // On the bytes: this runs for every channel stream of every session.
        var offers: [String] = []
        for line in headerLines {
            for item in line.utf8.split(separator: UInt8(ascii: ",")) {
                let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
                guard let first = item.firstIndex(where: { !isSpace($0) }),
                      let last = item.lastIndex(where: { !isSpace($0) }) else { continue }
                offers.append(String(decoding: item[first...last], as: UTF8.self))
            }
        }
        return offers
    }

    /// `X-Stream-Protocol-Version` (SPDY, HTTP/2): the first offered version that is supported.
    /// No offers at all means a 2015 client: v1 (as Kubernetes ≤ 1.17 did), when v1 is supported.
    /// No common version → 403 with one `X-Accepted-Stream-Protocol-Versions` line per supported version.
    public static func negotiate(offered: [String], supported: [ChannelVersion]) -> Result<ChannelVersion, RequestError> {
        if offered.isEmpty && supported.contains(.v1) { return .success(.v1) }
        for token in offered {
            if let version = ChannelVersion(token: token), supported.contains(version) { return .success(version) }
        }
        let accepted = supported.map(\.token)
        return .failure(RequestError(
            code: 403, reason: "Forbidden",
            message: "unable to upgrade: unable to negotiate protocol: client supports \(goList(offered)), "
                + "server accepts \(goList(accepted))",
            headers: accepted.map { RequestError.HeaderLine("X-Accepted-Stream-Protocol-Versions", $0) }))
    }

    /// `Sec-WebSocket-Protocol`: `.success(nil)` when nothing was offered (binary, nothing echoed: use
    /// `WebSocketSubprotocol.unnamed`); otherwise the first offer that is supported; none → 403 with the
    /// message of Kubernetes' wsstream `handshake`.
    public static func negotiateWebSocket(offered: [String],
                                          supported: [WebSocketSubprotocol]) -> Result<WebSocketSubprotocol?, RequestError> {
        if offered.isEmpty { return .success(nil) }
        for token in offered {
            if let match = supported.first(where: { $0.token == token }) { return .success(match) }
        }
        return .failure(.forbidden("requested protocol(s) are not supported: \(goList(shown(offered))); "
                                   + "supports \(goList(supported.map(\.token)))"))
    }

    /// The offers a refusal may repeat: never a bearer token offered as a subprotocol (kubectl's and
    /// browsers' WebSocket credentials), which would reach the client's screen, logs and the audit line.
    public static func shown(_ offered: [String]) -> [String] {
        // Anything that names the bearer subprotocol, however spaced or cased: a look-alike is no
        // credential, but it is no version either, and nothing is lost by leaving it out.
        offered.filter { !$0.lowercased().contains("bearer.authorization.k8s.io") }
    }

    /// Go's `%v` of a string slice: `[a b c]`.
    static func goList(_ items: [String]) -> String {
        "[" + items.joined(separator: " ") + "]"
    }
}
