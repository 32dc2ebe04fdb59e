/// The generation and transport an upstream URL names.
public enum UpstreamScheme: String, Sendable, CaseIterable {
    /// SPDY/3.1 upgrade over cleartext (kubelets, container runtimes' streaming servers).
    case spdy
    /// SPDY/3.1 upgrade over TLS.
    case spdys
    /// HTTP/2 with prior knowledge, cleartext.
    case h2c
    /// HTTP/2 by the h2c upgrade from HTTP/1.1.
    case h2cUpgrade = "h2c+upgrade"
    /// HTTP/2 over TLS (ALPN h2).
    case h2
    /// WebSocket channel protocol (v5 preferred, v4 fallback).
    case ws
    case wss

    /// Sessions share pooled connections (HTTP/2 by prior knowledge or TLS; an h2c upgrade
    /// carries one session on its upgraded stream; `wss://` as RFC 8441 streams while the
    /// upstream offers them, `ws://` never: cleartext WebSocket stays HTTP/1.1).
    public var pools: Bool { self == .h2c || self == .h2 || self == .wss }
    public var usesTLS: Bool { self == .spdys || self == .h2 || self == .wss }
    public var defaultPort: UInt16 { usesTLS ? 443 : 80 }
}

/// `scheme://host[:port]` of `--backend`, split but not resolved.
public struct UpstreamURL: Equatable, Sendable {
    public var scheme: UpstreamScheme
    /// Without brackets for IPv6.
    public var host: String
    public var port: UInt16

    /// `Host` header and `:authority`: the host as written (brackets kept) and the port.
    public var authority: String {
        // utf8: Foundation's String.contains(String) is a locale-aware search, paid per session here.
        (host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host) + ":\(port)"
    }

    public init(scheme: UpstreamScheme, host: String, port: UInt16) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `spdy://10.0.0.5:10250`, `h2://[fd00::5]:8443`, `spdys://node-1` (port 443).
    /// The path of an upstream exec request comes from `--backend-path`, so a URL path is refused.
    public init(parsing text: String) throws {
        guard let separator = text.range(of: "://") else {
            throw ConfigurationError("--backend \(text): want local or SCHEME://HOST:PORT (schemes: \(Self.schemeList))")
        }
        let schemeText = text[..<separator.lowerBound].lowercased()
        guard let scheme = UpstreamScheme(rawValue: schemeText) else {
            throw ConfigurationError("--backend \(text): unknown scheme \(schemeText) (schemes: \(Self.schemeList))")
        }
        var rest = Substring(text[separator.upperBound...])
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("?"), !rest.contains("#") else {
            throw ConfigurationError("--backend \(text): give the path with --backend-path, not in the URL")
        }
        guard !rest.contains("@") else {
            throw ConfigurationError("--backend \(text): credentials in the URL are not supported (use --backend-token)")
        }
        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ConfigurationError("--backend \(text): unclosed [") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ConfigurationError("--backend \(text): malformed address") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw ConfigurationError("--backend \(text): no host") }
        if host.contains("{") || host.contains("}") {
            // One {node}, and around it only what a host name may hold (spdys://{node}.nodes.internal).
            let rest = host.replacing(Self.nodeVariable, with: "n")
            guard host.ranges(of: Self.nodeVariable).count == 1,
                  rest.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
                throw ConfigurationError("--backend \(text): the host may hold {node} once (e.g. spdys://{node}:10250), and no other braces")
            }
        }
        var port = scheme.defaultPort
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else {
                throw ConfigurationError("--backend \(text): bad port \(portText)")
            }
            port = parsed
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    /// `spdys://{node}:10250`: each session's host is the node its request names (see `NodeDirectory`).
    public var isNodeAddressed: Bool { host.contains(Self.nodeVariable) }
    public static let nodeVariable = "{node}"

    static var schemeList: String { UpstreamScheme.allCases.map(\.rawValue).joined(separator: ", ") }
}
