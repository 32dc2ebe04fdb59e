import ExecModel

/// What `execbridge exec` was asked, before anything is opened. Pure values: `resolve()` checks
/// them and builds the request (target address, path with query, client options), so that
/// argument handling is testable without sockets.
public struct ExecCLIOptions: Sendable {
    public enum WireProtocol: String, CaseIterable, Sendable {
        /// SPDY/3.1 upgrade over HTTP/1.1 (what kubectl ≤ 1.29 speaks).
        case spdy
        /// HTTP/2: prior knowledge on `http://`, ALPN h2 on `https://`.
        case h2
        /// HTTP/2 by an HTTP/1.1 `Upgrade: h2c` (`http://` only).
        case h2cUpgrade = "h2c-upgrade"
        /// WebSocket (`v5.channel.k8s.io`…).
        case ws
    }

    public var wireProtocol: WireProtocol = .spdy
    public var stdin = false
    public var tty = false
    public var token: String?
    public var certificate: String?
    public var key: String?
    public var ca: String?
    public var insecureSkipTLSVerify = false
    /// `--version-list`: channel versions to offer, preferred first; nil offers the generation's defaults.
    public var versions: [ChannelVersion]?
    /// `--connect-timeout`: seconds until the session has started (connected, upgraded, every
    /// channel stream open); then `exec` gives up and says why.
    public var connectTimeout: Double = 30
    public var url: String
    /// argv; empty keeps the URL's own `command` values.
    public var command: [String]
    /// `execbridge attach`: the URL is an attach path and no command is sent.
    public var attach = false

    public init(url: String, command: [String]) {
        self.url = url
        self.command = command
    }

    /// A checked request, ready to connect.
    public struct Resolved: Sendable {
        public var secure: Bool
        public var host: String
        public var port: UInt16
        public var client: ExecClientOptions
        public var wireProtocol: WireProtocol
    }

    /// Parses `v4,v3`, `v4.channel.k8s.io`, `v1` / `channel.k8s.io`.
    public static func parseVersions(_ text: String) throws -> [ChannelVersion] {
        var versions: [ChannelVersion] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(item.filter { $0 != " " })
            let token: String
            switch name {
            case "v1", "channel.k8s.io": token = "channel.k8s.io"
            case _ where name.hasSuffix(".channel.k8s.io"): token = name
            default: token = name + ".channel.k8s.io"
            }
            guard let version = ChannelVersion(token: token) else {
                throw ExecCLIError.usage("--version-list: unknown channel version \"\(name)\" (v1 to v5)")
            }
            versions.append(version)
        }
        return versions
    }

    public func resolve() throws -> Resolved {
        if (certificate == nil) != (key == nil) { throw ExecCLIError.usage("--cert and --key go together") }
        guard connectTimeout > 0, connectTimeout.isFinite else {
            throw ExecCLIError.usage("--connect-timeout must be a positive number of seconds (got \(connectTimeout))")
        }
        if token != nil && certificate != nil {
            throw ExecCLIError.usage("--token and --cert/--key are alternatives: give one")
        }
        let parsed = try ParsedURL(url)
        if wireProtocol == .h2cUpgrade && parsed.secure {
            throw ExecCLIError.usage("--protocol h2c-upgrade needs an http:// URL (over TLS use --protocol h2)")
        }
        if !parsed.secure && (ca != nil || certificate != nil || insecureSkipTLSVerify) {
            throw ExecCLIError.usage("--ca, --cert, --key and --insecure-skip-tls-verify need an https:// URL")
        }
        if attach && !command.isEmpty { throw ExecCLIError.usage("attach takes no command: it joins the container's main process") }
        let target = try Self.execTarget(path: parsed.path, query: parsed.query, command: command, stdin: stdin, tty: tty,
                                         attach: attach)
        let verb = attach ? "attach" : "exec"
        if attach, let kind = ExecRouter.kind(ofTarget: target), kind != .attach {
            throw ExecCLIError.usage("execbridge attach needs an attach URL, not \(kind.rawValue) (e.g. /api/v1/namespaces/NS/pods/POD/attach?container=C)")
        }
        guard let routed = ExecRouter.route(method: "POST", target: target) else {
            throw ExecCLIError.usage("\(parsed.path) is not an \(verb) path (e.g. /api/v1/namespaces/NS/pods/POD/\(verb)?container=C)")
        }
        let request: ExecRequest
        switch routed {
        case .success(let r): request = r
        case .failure(let error): throw ExecCLIError.usage("invalid \(verb) URL: \(error.message)")
        }
        if request.kind != (attach ? .attach : .exec) {
            let hint = request.kind == .attach ? " (execbridge attach URL joins a main process)" : ""
            throw ExecCLIError.usage("execbridge \(verb) needs an \(verb) URL, not \(request.kind.rawValue)\(hint)")
        }
        var client = ExecClientOptions(authority: parsed.authority, path: target, stdin: request.stdin,
                                       stdout: request.stdout, stderr: request.stderr, tty: request.tty)
        if let versions {
            // Offered as given, even where the server will refuse them: that is what the option is for.
            client.versions = versions
        } else if wireProtocol == .ws {
            client.versions = [.v5, .v4, .v3, .v2, .v1]
        }
        if let token { client.headers.append(("Authorization", "Bearer " + token)) }
        return Resolved(secure: parsed.secure, host: parsed.host, port: parsed.port, client: client,
                        wireProtocol: wireProtocol)
    }

    /// The exec path with `command` and the stream flags in the form's own style (kubelet
    /// `input=1…` on node forms, `stdin=true…` on the apiserver form); flags already in the URL are
    /// replaced, other parameters (`container`) kept.
    static func execTarget(path: String, query: String, command: [String], stdin: Bool, tty: Bool,
                           attach: Bool = false) throws -> String {
        let flagKeys: Set<String> = ["stdin", "stdout", "stderr", "tty", "input", "output", "error"]
        var kept: [Substring] = []
        var urlCommand: [Substring] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let key = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if key == "command" { urlCommand.append(pair) } else if !flagKeys.contains(String(key)) { kept.append(pair) }
        }
        var parts = kept.map(String.init)
        if attach {
            // An attach carries no command: the process is the container's.
        } else if command.isEmpty {
            guard !urlCommand.isEmpty else { throw ExecCLIError.usage("no command: give one after --") }
            parts += urlCommand.map(String.init)
        } else {
            parts += command.map { "command=" + Self.percentEncode($0) }
        }
        let kubeletStyle = !path.hasPrefix("/api/v1/namespaces/")
        let on = kubeletStyle ? "1" : "true"
        let names = kubeletStyle ? ("input", "output", "error") : ("stdin", "stdout", "stderr")
        if stdin { parts.append(names.0 + "=" + on) }
        parts.append(names.1 + "=" + on)
        if tty { parts.append("tty=" + on) } else { parts.append(names.2 + "=" + on) }
        return path + "?" + parts.joined(separator: "&")
    }

    /// Everything but RFC 3986 unreserved characters is escaped (Go rejects a raw `;` in a query).
    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count < 2 ? "0" : "") + hex
            }
        }
        return out
    }
}

/// `http[s]://host[:port]/path[?query]`.
struct ParsedURL: Equatable {
    var secure: Bool
    var host: String
    var port: UInt16
    /// As the `Host` header carries it.
    var authority: String
    var path: String
    var query: String

    init(_ text: String) throws {
        var rest = Substring(text)
        if rest.lowercased().hasPrefix("http://") {
            secure = false
            rest = rest.dropFirst(7)
        } else if rest.lowercased().hasPrefix("https://") {
            secure = true
            rest = rest.dropFirst(8)
        } else {
            throw ExecCLIError.usage("URL must start with http:// or https:// (got \"\(text)\")")
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        var pathAndQuery = rest[slash...]
        if pathAndQuery.first == "?" || pathAndQuery.isEmpty { pathAndQuery = "/" + pathAndQuery }
        guard !authority.isEmpty, !authority.contains("@") else {
            throw ExecCLIError.usage("URL has no host, or has user info (use --token): \"\(text)\"")
        }
        var hostPart = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw ExecCLIError.usage("bad IPv6 host in \"\(text)\"") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw ExecCLIError.usage("bad host in \"\(text)\"")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        if let portText {
            guard let port = UInt16(portText), port > 0 else { throw ExecCLIError.usage("bad port in \"\(text)\"") }
            self.port = port
        } else {
            self.port = secure ? 443 : 80
        }
        guard !hostPart.isEmpty else { throw ExecCLIError.usage("URL has no host: \"\(text)\"") }
        host = String(hostPart)
        self.authority = String(authority)
        if let question = pathAndQuery.firstIndex(of: "?") {
            path = String(pathAndQuery[..<question])
            query = String(pathAndQuery[pathAndQuery.index(after: question)...])
        } else {
            path = String(pathAndQuery)
            query = ""
        }
    }
}

/// A one-line error of `execbridge exec`; the process exits 1 after printing `execbridge: <description>`.
public enum ExecCLIError: Error, Equatable, CustomStringConvertible {
    /// Bad arguments.
    case usage(String)
    /// The server answered the upgrade with something other than 101.
    case refused(status: Int, reason: String, message: String)
    /// Connection, TLS or protocol trouble.
    case failed(String)

    public var description: String {
        switch self {
        case .usage(let text): return text
        case .refused(let status, let reason, let message):
            return "upgrade refused: \(status) \(reason): \(message)"
        case .failed(let text): return text
        }
    }
}
