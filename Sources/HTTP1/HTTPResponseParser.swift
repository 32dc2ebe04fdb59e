/// Incremental parser of response heads (client role: an upstream's answer to an upgrade request).
/// The bytes after the head (`consumed` onward) already belong to the upgraded protocol.
public struct HTTPResponseParser {
    public let limits: HTTPParseLimits
    private var accumulator: HeadAccumulator

    public init(limits: HTTPParseLimits = .init()) {
        self.limits = limits
        accumulator = HeadAccumulator(limits: limits, startLineLimit: limits.maxHeadBytes,
                                      startLineError: .bad("status line too long"))
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> HTTPParseStep<HTTPResponseHead> {
        switch accumulator.feed(bytes) {
        case .needMore:
            return .needMore
        case .failure(let error):
            return .failure(error)
        case .complete(let consumed):
            switch Self.parse(accumulator.buffer) {
            case .success(let head):
                accumulator.reset()
                return .head(head, consumed: consumed)
            case .failure(let error):
                _ = accumulator.fail(error)
                return .failure(error)
            }
        }
    }

    public mutating func feed(_ bytes: [UInt8]) -> HTTPParseStep<HTTPResponseHead> {
        bytes.withUnsafeBytes { feed($0) }
    }

    static func parse(_ head: [UInt8]) -> Result<HTTPResponseHead, HTTPParseError> {
        let lines = HeadLines.split(head)
        guard let statusLine = lines.first else { return .failure(.bad("empty response")) }

        // status-line = HTTP-version SP 3DIGIT SP [reason]; a missing final SP is tolerated as Go does.
        let versionEnd = statusLine.firstIndex(of: HTTPSyntax.space) ?? statusLine.endIndex
        let version: HTTPVersion
        switch HeadLines.version(statusLine[statusLine.startIndex..<versionEnd]) {
        case .success(let parsed): version = parsed
        case .failure(let error): return .failure(error)
        }
        let rest = statusLine[min(versionEnd + 1, statusLine.endIndex)...]
        let digits = rest.prefix(3)
        guard versionEnd < statusLine.endIndex, digits.count == 3,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let status = Int(String(decoding: digits, as: UTF8.self)), status >= 100
        else { return .failure(.bad("malformed status line")) }
        let afterDigits = rest.dropFirst(3)
        var reason = afterDigits
        if let first = afterDigits.first {
            guard first == HTTPSyntax.space else { return .failure(.bad("malformed status line")) }
            reason = afterDigits.dropFirst()
        }
        guard reason.allSatisfy(HTTPSyntax.isFieldValueChar) else {
            return .failure(.bad("invalid character in reason phrase"))
        }

        let headers: HTTPHeaders
        switch HeadLines.headers(lines.dropFirst()) {
        case .success(let parsed): headers = parsed
        case .failure(let error): return .failure(error)
        }
        if let error = HeadLines.checkFraming(headers) { return .failure(error) }
        return .success(HTTPResponseHead(status: status, reason: String(decoding: reason, as: UTF8.self),
                                         version: version, headers: headers))
    }
}
