/// The status line and header lines of an HTTP/1.x response.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    public var reason: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    /// `reason` nil uses the standard phrase of `status`.
    public init(status: Int, reason: String? = nil, version: HTTPVersion = .http11, headers: HTTPHeaders = .init()) {
        self.status = status
        self.reason = reason ?? Self.reasonPhrase(status)
        self.version = version
        self.headers = headers
    }

    /// The head as written on the wire, ending with the empty line.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + headers.count * 32)
        HTTPSyntax.append(version.description, to: &out)
        out.append(HTTPSyntax.space)
        // A status is always three digits on the wire; clamp what cannot be sent.
        HTTPSyntax.append(String((100...999).contains(status) ? status : 500), to: &out)
        out.append(HTTPSyntax.space)
        HTTPSyntax.appendSanitized(reason, to: &out)
        HTTPHeadWriter.appendHeaders(headers, to: &out)
        return out
    }

    public var keepAlive: Bool {
        HTTPHeadWriter.keepAlive(version: version, connectionTokens: headers.tokens("Connection"))
    }

    /// The IANA reason phrase; unknown codes read `status code N`, as Go's server writes them.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 102: return "Processing"
        case 103: return "Early Hints"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 203: return "Non-Authoritative Information"
        case 204: return "No Content"
        case 205: return "Reset Content"
        case 206: return "Partial Content"
        case 300: return "Multiple Choices"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 402: return "Payment Required"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 407: return "Proxy Authentication Required"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Request Entity Too Large"
        case 414: return "Request URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Requested Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 421: return "Misdirected Request"
        case 422: return "Unprocessable Entity"
        case 426: return "Upgrade Required"
        case 428: return "Precondition Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "status code \(status)"
        }
    }
}
