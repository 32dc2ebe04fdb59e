/// Streaming decoder of the resize channel: `{"Width":W,"Height":H}` objects, separated by any JSON
/// whitespace (client-go writes one per line), split anywhere across chunks. Keys match without regard
/// to case and unknown keys are ignored, as Go's decoder into the kubelet's TerminalSize does.
public struct ResizeDecoder {
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { "resize channel: \(message)" }
    }

    public let maxBuffered: Int
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    public init(maxBuffered: Int = 4096) {
        self.maxBuffered = maxBuffered
    }

    /// The sizes completed by `bytes`. Sizes below 1 are ignored (the kubelet does so). Anything that is
    /// not a stream of such objects, or one object longer than `maxBuffered`, throws; the channel is then
    /// unusable, as it is for the kubelet.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [TerminalSize] {
        var sizes: [TerminalSize] = []
        for byte in bytes {
            if depth == 0 {
                if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { continue }
                guard byte == UInt8(ascii: "{") else {
                    throw Failure(message: "expected a JSON object, got byte 0x\(String(byte, radix: 16))")
                }
            }
            guard pending.count < maxBuffered else {
                throw Failure(message: "object longer than \(maxBuffered) bytes")
            }
            pending.append(byte)
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    defer { pending.removeAll(keepingCapacity: true) }
                    if let size = try Self.size(of: pending) { sizes.append(size) }
                }
            default: break
            }
        }
        return sizes
    }

    public mutating func feed(_ bytes: [UInt8]) throws -> [TerminalSize] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    private static func size(of object: [UInt8]) throws -> TerminalSize? {
        let value: JSONValue
        do {
            value = try JSONValue.parse(object)
        } catch {
            throw Failure(message: "\(error)")
        }
        let width = try dimension(value.member(caseInsensitive: "Width"), name: "Width")
        let height = try dimension(value.member(caseInsensitive: "Height"), name: "Height")
        guard width >= 1, height >= 1 else { return nil }
        return TerminalSize(width: width, height: height)
    }

    /// A uint16 as Go decodes it: absent or null is 0, anything else must be an integer in range.
    private static func dimension(_ value: JSONValue?, name: String) throws -> UInt16 {
        switch value {
        case nil, .null?: return 0
        case .number(let number)?:
            guard number.rounded() == number, number >= 0, number <= Double(UInt16.max) else {
                throw Failure(message: "\(name) \(number) is not a uint16")
            }
            return UInt16(number)
        default:
            throw Failure(message: "\(name) is not a number")
        }
    }
}
