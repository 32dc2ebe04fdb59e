import HTTP1

/// Header rules of a forwarding proxy (RFC 9110 §7.6.1 and the de-facto X-Forwarded-* headers).
enum ForwardedHeaders {
    /// Hop-by-hop headers that are never forwarded, besides those the Connection header names.
    static let hopByHop = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]

    /// `headers` without the hop-by-hop ones: Connection, every header Connection names, and the
    /// fixed list. (Message framing and upgrades are re-added by the caller for the next hop.)
    static func endToEnd(_ headers: HTTPHeaders) -> HTTPHeaders {
        let named = Set(headers.tokens("connection"))
        var out = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) { continue }
            out.add(name, value)
        }
        return out
    }

    /// Whether the request asks to switch protocols (`Connection: upgrade` with `Upgrade`).
    static func upgradeProtocols(_ headers: HTTPHeaders) -> String? {
        guard headers.tokens("connection").contains("upgrade"), let upgrade = headers[first: "upgrade"] else { return nil }
        return upgrade
    }

    /// Whether a client's header claims an identity or a route that only the gateway may state:
    /// kube-apiserver's impersonation and its front-proxy headers, and the forwarding headers an
    /// upstream may log or trust. The client's `Authorization` is one unless it is to be forwarded.
    static func isSpoofable(_ lowercasedName: String, forwardAuthorization: Bool) -> Bool {
        if lowercasedName == "authorization" { return !forwardAuthorization }
        return lowercasedName == "forwarded" || lowercasedName == "proxy-authorization"
            || lowercasedName.hasPrefix("impersonate-") || lowercasedName.hasPrefix("x-remote-")
            || lowercasedName.hasPrefix("x-forwarded-")
    }

    /// The request head toward the upstream: end-to-end headers without the spoofable ones,
    /// `Host` naming the upstream, the gateway's own `X-Forwarded-For` (the client's address),
    /// `X-Forwarded-Host` (the original `Host`) and `X-Forwarded-Proto`, the body's framing, and
    /// `Connection: close` (one request per upstream connection) or the upgrade the client asked for.
    static func upstreamRequest(_ head: HTTPRequestHead, authority: String, clientAddress: String?, clientTLS: Bool,
                                framing: BodyFraming, forwardAuthorization: Bool = false) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        for (name, value) in endToEnd(head.headers) where !isSpoofable(name.lowercased(), forwardAuthorization: forwardAuthorization) {
            headers.add(name, value)
        }
        let originalHost = head.headers[first: "host"]
        headers.replaceOrAdd("Host", authority)
        if let clientAddress { headers.add("X-Forwarded-For", clientAddress) }
        if let originalHost { headers.add("X-Forwarded-Host", originalHost) }
        headers.add("X-Forwarded-Proto", clientTLS ? "https" : "http")
        if case .chunked = framing { headers.add("Transfer-Encoding", "chunked") }
        if let upgrade = upgradeProtocols(head.headers) {
            headers.add("Connection", "Upgrade")
            headers.add("Upgrade", upgrade)
        } else {
            headers.add("Connection", "close")
        }
        return HTTPRequestHead(method: head.method, target: head.target, version: head.version, headers: headers)
    }

    /// The response head toward the client: end-to-end headers, the framing as received (the body
    /// is forwarded as it came, chunks included), and `Connection: close` (or the upgrade on a 101).
    static func clientResponse(_ head: HTTPResponseHead) -> HTTPResponseHead {
        var headers = endToEnd(head.headers)
        if head.status == 101 {
            headers.add("Connection", "Upgrade")
            if let upgrade = head.headers[first: "upgrade"] { headers.add("Upgrade", upgrade) }
        } else {
            let codings = head.headers.values("transfer-encoding")
            if !codings.isEmpty { headers.add("Transfer-Encoding", codings.joined(separator: ", ")) }
            if head.status >= 200 { headers.add("Connection", "close") }
        }
        return HTTPResponseHead(status: head.status, reason: head.reason, version: .http11, headers: headers)
    }
}
