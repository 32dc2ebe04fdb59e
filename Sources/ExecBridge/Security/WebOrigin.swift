import Glibc

/// A web origin (RFC 6454): scheme, host and port, compared the way browsers compare them —
/// scheme and host without regard to case, the default port made explicit.
struct WebOrigin: Equatable, Sendable {
    var scheme: String
    var host: String
    var port: Int

    init?(scheme: String, host: String, port: Int?) {
        let scheme = scheme.lowercased()
        guard let standard = Self.defaultPort(scheme), !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port ?? standard
    }

    /// `scheme://host[:port]` as browsers serialize an `Origin` header; nil for `null`, paths,
    /// credentials or anything else a browser never sends.
    init?(serialized text: String) {
        guard let separator = text.range(of: "://") else { return nil }
        let rest = String(text[separator.upperBound...])
        guard !rest.contains(where: { "/?#@ ".contains($0) }), let authority = HostAndPort(rest) else { return nil }
        self.init(scheme: String(text[..<separator.lowerBound]), host: authority.host, port: authority.port)
    }

    /// The origin a request was addressed to: its `Host` (`:authority`) and the connection's scheme.
    init?(authority: String, tls: Bool) {
        guard let parsed = HostAndPort(authority) else { return nil }
        self.init(scheme: tls ? "https" : "http", host: parsed.host, port: parsed.port)
    }

    private static func defaultPort(_ scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": return 80
        case "https", "wss": return 443
        default: return nil
        }
    }

    /// `ws`/`wss` name the same origin as `http`/`https` (a WebSocket is opened from a page's origin).
    var web: WebOrigin {
        var copy = self
        if scheme == "ws" { copy.scheme = "http" }
        if scheme == "wss" { copy.scheme = "https" }
        return copy
    }
}

/// `host[:port]` or `[v6]:port` as in a `Host` header, the host without brackets.
struct HostAndPort: Equatable, Sendable {
    var host: String
    var port: Int?

    init?(_ text: String) {
        var rest = Substring(text.trimmingWhitespace)
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return nil }
        } else {
            let colon = rest.firstIndex(of: ":")
            host = String(rest[..<(colon ?? rest.endIndex)])
            rest = colon.map { rest[$0...] } ?? ""
        }
        guard !host.isEmpty else { return nil }
        if rest.hasPrefix(":") {
            guard let value = Int(rest.dropFirst()), (0...65535).contains(value) else { return nil }
            port = value
        } else {
            port = nil
        }
    }

    /// 127.0.0.0/8, ::1 (any spelling of it) or `localhost`: names a browser can only reach on
    /// this machine. Parsed numerically, never resolved.
    var isLoopback: Bool {
        let name = host.lowercased()
        if name == "localhost" { return true }
        var v4 = in_addr()
        if name.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
           inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) } == [UInt8](repeating: 0, count: 15) + [1]
        }
        return false
    }
}
