/// A violation of RFC 6455 by the peer (or a limit it exceeded). `closeCode` is what the close
/// frame sent back must carry; `reason` is a short human-readable explanation.
public struct WebSocketProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var closeCode: WebSocketCloseCode
    public var reason: String

    public init(_ closeCode: WebSocketCloseCode, _ reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }

    public var description: String { "WebSocket error \(closeCode.rawValue): \(reason)" }
}
