/// Incremental parser of request heads (server role). Feed chunks as they arrive, split anywhere.
public struct HTTPRequestParser {
    public let limits: HTTPParseLimits
    private var accumulator: HeadAccumulator

    public init(limits: HTTPParseLimits = .init()) {
        self.limits = limits
        // Room for the method and the version around the longest accepted target.
        accumulator = HeadAccumulator(limits: limits, startLineLimit: limits.maxURILength + 64,
                                      startLineError: HTTPParseError(status: 414, message: "request URI too long"))
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> HTTPParseStep<HTTPRequestHead> {
        switch accumulator.feed(bytes) {
        case .needMore:
            return .needMore
        case .failure(let error):
            return .failure(error)
        case .complete(let consumed):
            switch Self.parse(accumulator.buffer, limits: limits) {
            case .success(let head):
                accumulator.reset()
                return .head(head, consumed: consumed)
            case .failure(let error):
                _ = accumulator.fail(error)
                return .failure(error)
            }
        }
    }

    /// Convenience for callers holding an array.
    public mutating func feed(_ bytes: [UInt8]) -> HTTPParseStep<HTTPRequestHead> {
        bytes.withUnsafeBytes { feed($0) }
    }

    static func parse(_ head: [UInt8], limits: HTTPParseLimits) -> Result<HTTPRequestHead, HTTPParseError> {
        let lines = HeadLines.split(head)
        guard let requestLine = lines.first else { return .failure(.bad("empty request")) }

        // request-line = method SP request-target SP HTTP-version, single spaces, nothing else.
        guard let firstSpace = requestLine.firstIndex(of: HTTPSyntax.space),
              let secondSpace = requestLine[(firstSpace + 1)...].firstIndex(of: HTTPSyntax.space)
        else { return .failure(.bad("malformed request line")) }
        let method = requestLine[requestLine.startIndex..<firstSpace]
        let target = requestLine[(firstSpace + 1)..<secondSpace]
        let versionBytes = requestLine[(secondSpace + 1)...]
        guard !method.isEmpty, method.allSatisfy(HTTPSyntax.isTokenChar) else {
            return .failure(.bad("malformed request method"))
        }
        guard !target.isEmpty, target.allSatisfy(HTTPSyntax.isTargetChar) else {
            return .failure(.bad("malformed request target"))
        }
        let version: HTTPVersion
        switch HeadLines.version(versionBytes) {
        case .success(let parsed): version = parsed
        case .failure(let error) where error.status == 400: return .failure(error)
        case .failure(let unsupported):
            if target.count > limits.maxURILength { return .failure(uriTooLong) }
            return .failure(unsupported)
        }
        if target.count > limits.maxURILength { return .failure(uriTooLong) }

        let headers: HTTPHeaders
        switch HeadLines.headers(lines.dropFirst()) {
        case .success(let parsed): headers = parsed
        case .failure(let error): return .failure(error)
        }
        if let error = HeadLines.checkFraming(headers) { return .failure(error) }
        if version == .http10 && headers.contains("Transfer-Encoding") {
            return .failure(.bad("Transfer-Encoding in an HTTP/1.0 request"))
        }
        let hosts = headers.values("Host").count
        if hosts > 1 { return .failure(.bad("multiple Host headers")) }
        if hosts == 0 && version == .http11 && limits.requireHost {
            return .failure(.bad("missing required Host header"))
        }
        return .success(HTTPRequestHead(method: String(decoding: method, as: UTF8.self),
                                        target: String(decoding: target, as: UTF8.self),
                                        version: version, headers: headers))
    }

    private static let uriTooLong = HTTPParseError(status: 414, message: "request URI too long")
}
