/// Assembles a streamed data message into one array, for the few messages small enough to want
/// whole (a status document, a resize request). Bounded: refuses to grow past `limit`.
public struct WebSocketMessageCollector: Sendable {
    public let limit: Int
    public private(set) var opcode: WebSocketOpcode?
    public private(set) var bytes: [UInt8] = []

    public init(limit: Int) { self.limit = limit }

    public mutating func start(_ opcode: WebSocketOpcode) {
        self.opcode = opcode
        bytes.removeAll(keepingCapacity: true)
    }

    /// False (and nothing appended) if the message would exceed `limit`.
    public mutating func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard chunk.count <= limit - bytes.count else { return false }
        bytes.append(contentsOf: chunk)
        return true
    }

    /// The whole message, and the collector is ready for the next one.
    public mutating func finish() -> (opcode: WebSocketOpcode, bytes: [UInt8])? {
        guard let opcode else { return nil }
        defer { self.opcode = nil; bytes = [] }
        return (opcode, bytes)
    }
}
