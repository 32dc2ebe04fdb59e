/// Parsing of the lines of a complete head (as HeadAccumulator collected it: every line ends in LF,
/// a CR only ever directly before LF).
enum HeadLines {
    /// Splits into lines without their line ends; the final empty line is not included.
    static func split(_ head: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        for index in head.indices where head[index] == HTTPSyntax.lf {
            var end = index
            if end > start && head[end - 1] == HTTPSyntax.cr { end -= 1 }
            if end > start { lines.append(head[start..<end]) }
            start = index + 1
        }
        return lines
    }

    /// `HTTP/D.D`; other shapes are malformed (400), other numbers unsupported (505).
    static func version(_ bytes: ArraySlice<UInt8>) -> Result<HTTPVersion, HTTPParseError> {
        let prefix = Array("HTTP/".utf8)
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard bytes.count == 8, bytes.prefix(5).elementsEqual(prefix),
              case let major = bytes[bytes.startIndex + 5], digits.contains(major),
              bytes[bytes.startIndex + 6] == UInt8(ascii: "."),
              case let minor = bytes[bytes.startIndex + 7], digits.contains(minor)
        else { return .failure(.bad("malformed HTTP version")) }
        let version = HTTPVersion(major: Int(major - digits.lowerBound), minor: Int(minor - digits.lowerBound))
        guard version == .http11 || version == .http10 else {
            return .failure(HTTPParseError(status: 505, message: "HTTP version not supported: \(version)"))
        }
        return .success(version)
    }

    /// Header lines: `token ":" OWS value OWS`. Folding, whitespace before the colon and control
    /// characters are refused — each is a request-smuggling vector when proxies disagree.
    static func headers(_ lines: ArraySlice<ArraySlice<UInt8>>) -> Result<HTTPHeaders, HTTPParseError> {
        var headers = HTTPHeaders()
        for line in lines {
            guard let first = line.first, !HTTPSyntax.isWhitespace(first) else {
                return .failure(.bad("obsolete line folding in header"))
            }
            var colon = line.startIndex
            while colon < line.endIndex && HTTPSyntax.isTokenChar(line[colon]) { colon += 1 }
            guard colon < line.endIndex, line[colon] == HTTPSyntax.colon, colon > line.startIndex else {
                if colon < line.endIndex && HTTPSyntax.isWhitespace(line[colon]) {
                    return .failure(.bad("whitespace between header name and colon"))
                }
                return .failure(.bad("malformed header line"))
            }
            var start = colon + 1
            var end = line.endIndex
            while start < end && HTTPSyntax.isWhitespace(line[start]) { start += 1 }
            while end > start && HTTPSyntax.isWhitespace(line[end - 1]) { end -= 1 }
            let value = line[start..<end]
            guard value.allSatisfy(HTTPSyntax.isFieldValueChar) else {
                return .failure(.bad("invalid character in header value"))
            }
            headers.add(String(decoding: line[line.startIndex..<colon], as: UTF8.self),
                        String(decoding: value, as: UTF8.self))
        }
        return .success(headers)
    }

    /// Message framing that both roles must agree on (RFC 9112 §6.3): a message with both
    /// Content-Length and Transfer-Encoding, or with conflicting lengths, is refused.
    static func checkFraming(_ headers: HTTPHeaders) -> HTTPParseError? {
        let lengths = headers.values("Content-Length")
        if !lengths.isEmpty && headers.contains("Transfer-Encoding") {
            return .bad("both Content-Length and Transfer-Encoding")
        }
        var seen: String?
        for line in lengths {
            for item in line.split(separator: ",", omittingEmptySubsequences: false) {
                let value = HTTPSyntax.trimmingWhitespace(item)
                guard !value.isEmpty, value.utf8.count <= 18,
                      value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                else { return .bad("invalid Content-Length") }
                if let seen, seen != value { return .bad("conflicting Content-Length values") }
                seen = value
            }
        }
        return nil
    }
}
