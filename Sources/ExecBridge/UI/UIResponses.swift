import ExecModel

/// Every answer under `/ui/` carries the same protections: a strict Content-Security-Policy (no
/// inline script or style, connections to this origin only, no framing, no forms, no base URL),
/// no MIME sniffing, no referrer. JSON is never cached: it is the caller's.
enum UIResponses {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", contentSecurityPolicy),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]

    /// A static file: revalidated on every load, so that an upgraded gateway serves its own page.
    static func file(_ status: Int, contentType: String, body: [UInt8]) -> PlainResponse {
        PlainResponse(status: status, contentType: contentType, body: body,
                      headers: securityHeaders + [("Cache-Control", "no-cache")])
    }

    static func json(_ status: Int, _ text: String) -> PlainResponse {
        PlainResponse(status: status, contentType: "application/json", body: Array(text.utf8),
                      headers: securityHeaders + [("Cache-Control", "no-store")])
    }

    static func data(contentType: String, body: [UInt8]) -> PlainResponse {
        PlainResponse(status: 200, contentType: contentType, body: body,
                      headers: securityHeaders + [("Cache-Control", "no-store")])
    }

    /// A Kubernetes Status, as every other refusal of the gateway.
    static func status(_ error: RequestError) -> PlainResponse {
        PlainResponse(status: error.code, contentType: "application/json", body: Array(error.statusJSON.utf8),
                      headers: securityHeaders + [("Cache-Control", "no-store")] + error.headers.map { ($0.name, $0.value) })
    }

    /// What `/ui/` shows when the terminal component is missing: the reason and the fix, and no script.
    static func unavailablePage(_ why: String) -> PlainResponse {
        let text = why.replacingHTMLSpecials
        let page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>ExecBridge: terminal unavailable</title></head>
            <body><h1>The web terminal is not available</h1><p>\(text)</p></body></html>

            """
        return file(503, contentType: "text/html; charset=utf-8", body: Array(page.utf8))
    }
}

extension String {
    /// `&`, `<`, `>`, `"` and `'` as HTML entities.
    var replacingHTMLSpecials: String {
        var out = ""
        for character in self {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
