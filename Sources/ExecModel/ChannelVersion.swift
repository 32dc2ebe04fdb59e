/// The exec channel protocol negotiated inside a generation.
public enum ChannelVersion: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    case v1 = 1, v2, v3, v4, v5

    /// The token used in `X-Stream-Protocol-Version` and `Sec-WebSocket-Protocol`.
    public var token: String {
        self == .v1 ? "channel.k8s.io" : "v\(rawValue).channel.k8s.io"
    }

    public init?(token: String) {
        switch token {
        case "channel.k8s.io": self = .v1
        case "v2.channel.k8s.io": self = .v2
        case "v3.channel.k8s.io": self = .v3
        case "v4.channel.k8s.io": self = .v4
        case "v5.channel.k8s.io": self = .v5
        default: return nil
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var description: String { token }

    /// The error channel carries a JSON Status, always (v4 and later) — or plain text only on failure.
    public var hasStatusJSON: Bool { self >= .v4 }
    /// A resize channel exists from v3 on.
    public var hasResize: Bool { self >= .v3 }
    /// v1 has no usable stdin EOF: the server closes its half at once.
    public var hasStdinHalfClose: Bool { self >= .v2 }
}

/// The transport family a session arrived on or leaves by.
public enum Generation: String, Sendable, CustomStringConvertible {
    case spdy = "SPDY/3.1"
    case http2 = "HTTP/2"
    case websocket = "WebSocket"

    public var description: String { rawValue }
}
