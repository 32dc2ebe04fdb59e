/// The request line and header lines of an HTTP/1.x request.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// As sent: origin-form path and query, still percent-encoded (or absolute-, authority-, asterisk-form).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: String, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = .init()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The head as written on the wire, ending with the empty line.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + target.utf8.count + headers.count * 32)
        HTTPSyntax.appendSanitized(method, to: &out)
        out.append(HTTPSyntax.space)
        HTTPSyntax.appendSanitized(target, to: &out)
        out.append(HTTPSyntax.space)
        HTTPSyntax.append(version.description, to: &out)
        HTTPHeadWriter.appendHeaders(headers, to: &out)
        return out
    }

    /// Whether the connection stays open after this exchange (HTTP/1.1 default; HTTP/1.0 only with keep-alive).
    public var keepAlive: Bool {
        HTTPHeadWriter.keepAlive(version: version, connectionTokens: headers.tokens("Connection"))
    }
}

enum HTTPHeadWriter {
    static func appendHeaders(_ headers: HTTPHeaders, to out: inout [UInt8]) {
        out.append(HTTPSyntax.cr)
        out.append(HTTPSyntax.lf)
        for (name, value) in headers {
            HTTPSyntax.appendSanitized(name, to: &out)
            out.append(HTTPSyntax.colon)
            out.append(HTTPSyntax.space)
            HTTPSyntax.appendSanitized(value, to: &out)
            out.append(HTTPSyntax.cr)
            out.append(HTTPSyntax.lf)
        }
        out.append(HTTPSyntax.cr)
        out.append(HTTPSyntax.lf)
    }

    static func keepAlive(version: HTTPVersion, connectionTokens: [String]) -> Bool {
        if connectionTokens.contains("close") { return false }
        if version == .http10 { return connectionTokens.contains("keep-alive") }
        return true
    }
}
