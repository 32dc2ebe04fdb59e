/// A close status code (RFC 6455 §7.4). A struct rather than an enum because applications may
/// use any code in 3000–4999.
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let normalClosure = WebSocketCloseCode(1000)
    public static let goingAway = WebSocketCloseCode(1001)
    public static let protocolError = WebSocketCloseCode(1002)
    public static let unsupportedData = WebSocketCloseCode(1003)
    /// Never on the wire: stands for "the close frame had no code".
    public static let noStatusReceived = WebSocketCloseCode(1005)
    /// Never on the wire: stands for "the connection dropped without a close frame".
    public static let abnormalClosure = WebSocketCloseCode(1006)
    public static let invalidFramePayloadData = WebSocketCloseCode(1007)
    public static let policyViolation = WebSocketCloseCode(1008)
    public static let messageTooBig = WebSocketCloseCode(1009)
    public static let mandatoryExtension = WebSocketCloseCode(1010)
    public static let internalError = WebSocketCloseCode(1011)

    /// Whether a peer may send this code in a close frame: the defined codes except the
    /// local-only ones (1005, 1006, 1015), the IANA-registered 1012–1014, and 3000–4999.
    public var isValidOnWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(rawValue) }
}
