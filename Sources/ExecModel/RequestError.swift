/// A request refused before any upgrade: an HTTP status with a Kubernetes `Status` body.
public struct RequestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The HTTP status code (400, 403, 404, …).
    public var code: Int
    /// The Kubernetes StatusReason (BadRequest, Forbidden, NotFound, …).
    public var reason: String
    public var message: String
    /// Extra response headers (e.g. `X-Accepted-Stream-Protocol-Versions`, one entry per line).
    public var headers: [HeaderLine]

    public struct HeaderLine: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(code: Int, reason: String, message: String, headers: [HeaderLine] = []) {
        self.code = code
        self.reason = reason
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ message: String) -> RequestError {
        RequestError(code: 400, reason: "BadRequest", message: message)
    }

    public static func notFound(_ message: String) -> RequestError {
        RequestError(code: 404, reason: "NotFound", message: message)
    }

    public static func forbidden(_ message: String) -> RequestError {
        RequestError(code: 403, reason: "Forbidden", message: message)
    }

    /// The Kubernetes StatusReason of an HTTP code (what a Status without a reason of its own means).
    public static func reason(forCode code: Int) -> String {
        switch code {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 406: return "NotAcceptable"
        case 408: return "Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 413: return "RequestEntityTooLarge"
        case 414: return "RequestURITooLong"
        case 415: return "UnsupportedMediaType"
        case 422: return "Invalid"
        case 429: return "TooManyRequests"
        case 431: return "RequestHeaderFieldsTooLarge"
        case 503: return "ServiceUnavailable"
        case 504: return "Timeout"
        case 505: return "HTTPVersionNotSupported"
        default: return "InternalError"
        }
    }

    /// The body: a `Status` object as the apiserver writes it.
    public var statusJSON: String {
        #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"#
            + JSONText.quoted(message) + #","reason":"# + JSONText.quoted(reason)
            + #","code":"# + String(code) + "}"
    }

    public var description: String { "\(code) \(reason): \(message)" }
}
