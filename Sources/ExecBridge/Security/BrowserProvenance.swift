import ExecModel

/// Refuses exec, attach and discovery requests that a web browser sent on behalf of a page
/// (spec §5 item 7; issue 12): any page may open a WebSocket to 127.0.0.1, load an `<img>` from an
/// h2 exec URL or post a form to it, and the browser adds the user's client certificate. What a
/// browser cannot avoid sending gives it away: an `Origin` (on every WebSocket, CORS and POST
/// request), `Sec-Fetch-Site`/`Sec-Fetch-Mode`, and the page's own host name in `Host` after a DNS
/// rebinding. Non-browser clients (kubectl, curl, the Python clients) send none of these, or a
/// same-origin `Origin` (websocket-client), and pass.
final class BrowserProvenance: RequestGate {
    struct Rules: Sendable {
        /// `--allow-origin`: pages (web terminals) that may drive exec.
        var origins: [WebOrigin] = []
        /// `--allow-host`: host names besides loopback ones accepted while callers may be anonymous.
        var hosts: Set<String> = []
        /// Anonymous callers are accepted: then nothing but the host name tells a rebinding page
        /// from a local client, so the host must be a loopback one (or allowed).
        var anonymousAllowed = false
    }

    private let rules: Rules

    init(rules: Rules) {
        self.rules = rules
    }

    /// Parses `--allow-origin` values; a value that is not `scheme://host[:port]` fails the start.
    static func origins(_ values: [String]) throws -> [WebOrigin] {
        try values.map { value in
            guard let origin = WebOrigin(serialized: value) else {
                throw ConfigurationError("--allow-origin \(value): expected an origin such as https://terminal.example:8443 (scheme://host[:port], no path)")
            }
            return origin.web
        }
    }

    /// `--allow-host` values: a host name (a port, brackets or case are ignored).
    static func hosts(_ values: [String]) -> Set<String> {
        Set(values.map { value in HostAndPort(value)?.host.lowercased() ?? value.lowercased() })
    }

    func screen(_ context: RequestContext) -> RequestError? {
        for line in context.headers {
            let value = line.value.trimmingWhitespace.lowercased()
            switch line.name {
            case "sec-fetch-site" where value == "cross-site" || value == "same-site":
                return Self.refusal("Sec-Fetch-Site is \(value): the request comes from another site's page")
            case "sec-fetch-mode" where value == "navigate" || value == "no-cors":
                return Self.refusal("Sec-Fetch-Mode is \(value): a browser navigation or embedded resource cannot run commands")
            case "origin" where !originAllowed(line.value, context: context):
                return Self.refusal("Origin \(Self.quoted(line.value)) is neither this server's origin nor allowed with --allow-origin")
            default:
                continue
            }
        }
        if rules.anonymousAllowed, let authority = context.authority {
            guard let host = HostAndPort(authority) else {
                return Self.refusal("the Host \(Self.quoted(authority)) is not a valid host")
            }
            if !host.isLoopback && !rules.hosts.contains(host.host.lowercased()) {
                return Self.refusal("the Host \(Self.quoted(host.host)) is not a loopback name while anonymous callers are accepted "
                                    + "(a DNS rebinding page could use it); list it with --allow-host or require credentials")
            }
        }
        return nil
    }

    private func originAllowed(_ value: String, context: RequestContext) -> Bool {
        guard let origin = WebOrigin(serialized: value.trimmingWhitespace.description)?.web else { return false }
        if rules.origins.contains(origin) { return true }
        guard let authority = context.authority, let own = WebOrigin(authority: authority, tls: context.isTLS) else { return false }
        return own == origin
    }

    static func refusal(_ why: String) -> RequestError {
        .forbidden("requests from web browsers are refused: " + why)
    }

    /// Header values are the client's: quoted and cut short before they reach a Status or a log.
    private static func quoted(_ text: String) -> String {
        let cut = text.count > 100 ? String(text.prefix(100)) + "…" : text
        return "\"" + String(cut.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && $0 != "\"" }) + "\""
    }
}
