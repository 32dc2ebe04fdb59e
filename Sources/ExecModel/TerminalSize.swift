/// A terminal size as the resize channel carries it (`{"Width":W,"Height":H}`).
public struct TerminalSize: Equatable, Sendable, CustomStringConvertible {
    public var width: UInt16
    public var height: UInt16

    public init(width: UInt16, height: UInt16) {
        self.width = width
        self.height = height
    }

    /// The resize channel's encoding: one JSON object followed by a newline.
    public var encoded: [UInt8] {
        Array("{\"Width\":\(width),\"Height\":\(height)}\n".utf8)
    }

    public var description: String { "\(width)x\(height)" }
}
