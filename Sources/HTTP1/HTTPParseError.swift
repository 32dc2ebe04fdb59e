/// Bounds on what a peer may make the parser buffer.
public struct HTTPParseLimits: Sendable, Equatable {
    /// The whole head, request line through the empty line.
    public var maxHeadBytes: Int
    public var maxHeaderCount: Int
    /// Length of the request target (requests only).
    public var maxURILength: Int
    /// RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host line is refused with 400.
    public var requireHost: Bool

    public init(maxHeadBytes: Int = 65536, maxHeaderCount: Int = 100, maxURILength: Int = 8192,
                requireHost: Bool = true) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxURILength = maxURILength
        self.requireHost = requireHost
    }
}

/// Why a head was refused, with the status a server answers it with.
public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 400 malformed, 414 target too long, 431 head too large, 505 version not supported.
    public var status: Int
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(status: 400, message: message) }

    public var description: String { "\(status) \(message)" }
}

/// The outcome of feeding one chunk to a parser.
public enum HTTPParseStep<Head> {
    /// The whole chunk was taken; the head is not complete yet.
    case needMore
    /// The head is complete; `consumed` bytes of THIS chunk belonged to it, the rest follow it on the wire.
    case head(Head, consumed: Int)
    /// The head is malformed or too large. The parser stays failed.
    case failure(HTTPParseError)
}

extension HTTPParseStep: Sendable where Head: Sendable {}
extension HTTPParseStep: Equatable where Head: Equatable {}
