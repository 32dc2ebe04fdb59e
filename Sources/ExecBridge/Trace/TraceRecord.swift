/// One line of a frame transcript: who sent it, on which generation, which frame, and its decoded
/// fields, e.g. `> spdy SYN_STREAM stream=1 flags=- h:streamtype=error` or
/// `< h2 DATA stream=3 flags=END_STREAM len=6 data="hello\n"`. No compressed bytes, no timing.
public struct TraceRecord: Equatable, Sendable, CustomStringConvertible {
    public enum Direction: String, Sendable {
        /// Client to gateway.
        case toServer = ">"
        /// Gateway to client.
        case toClient = "<"
    }

    public struct Field: Equatable, Sendable {
        public var key: String
        /// Raw bytes (header values and payloads may be any bytes).
        public var value: [UInt8]

        public init(_ key: String, _ value: [UInt8]) {
            self.key = key
            self.value = value
        }

        public init(_ key: String, _ value: String) {
            self.init(key, Array(value.utf8))
        }

        public var text: String { String(decoding: value, as: UTF8.self) }
    }

    public var direction: Direction
    /// `spdy` or `h2`.
    public var generation: String
    /// The frame type (`SYN_STREAM`, `DATA`, …) or `UPGRADE` / `RESPONSE` / `PREFACE` / `ERROR`.
    public var type: String
    public var fields: [Field]

    /// Payloads up to this size are written whole (`data=`), longer ones as a prefix (`head=`).
    public static let fullPayloadLimit = 512
    public static let payloadPrefix = 64

    public init(_ direction: Direction, _ generation: String, _ type: String, _ fields: [Field] = []) {
        self.direction = direction
        self.generation = generation
        self.type = type
        self.fields = fields
    }

    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.text
    }

    public func bytes(_ key: String) -> [UInt8]? {
        fields.first { $0.key == key }?.value
    }

    /// Header fields (`h:name=value`) in order.
    public var headers: [(name: String, value: String)] {
        fields.filter { $0.key.hasPrefix("h:") }.map { (String($0.key.dropFirst(2)), $0.text) }
    }

    /// The payload fields of a frame whose payload is `payload` (length, then whole or prefix).
    public static func payloadFields(_ payload: some Collection<UInt8>, length: Int) -> [Field] {
        var fields = [Field("len", String(length))]
        if length == 0 { return fields }
        if length <= fullPayloadLimit && payload.count == length {
            fields.append(Field("data", Array(payload)))
        } else {
            fields.append(Field("head", Array(payload.prefix(payloadPrefix))))
        }
        return fields
    }

    // MARK: Text

    public var description: String {
        var line = direction.rawValue + " " + generation + " " + type
        for field in fields {
            line += " " + field.key + "=" + Self.encode(field.value, forceQuotes: field.key == "data" || field.key == "head")
        }
        return line
    }

    /// Parses one line written by `description`; nil for comments, blank lines and anything else.
    public init?(line: Substring) {
        var tokens: [Substring] = []
        var rest = line[...]
        while let start = rest.firstIndex(where: { $0 != " " }) {
            rest = rest[start...]
            var inQuotes = false
            var escaped = false
            var end = rest.endIndex
            for index in rest.indices {
                let c = rest[index]
                if escaped { escaped = false; continue }
                if c == "\\" && inQuotes { escaped = true; continue }
                if c == "\"" { inQuotes.toggle(); continue }
                if c == " " && !inQuotes { end = index; break }
            }
            tokens.append(rest[..<end])
            rest = rest[end...]
        }
        guard tokens.count >= 3, let direction = Direction(rawValue: String(tokens[0])) else { return nil }
        var fields: [Field] = []
        for token in tokens.dropFirst(3) {
            guard let equals = token.firstIndex(of: "="),
                  let value = Self.decode(token[token.index(after: equals)...]) else { return nil }
            fields.append(Field(String(token[..<equals]), value))
        }
        self.init(direction, String(tokens[1]), String(tokens[2]), fields)
    }

    /// Bare when the value is a plain token, otherwise quoted with Go-like escapes (byte-exact).
    static func encode(_ bytes: [UInt8], forceQuotes: Bool = false) -> String {
        let plain = !bytes.isEmpty && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain && !forceQuotes { return String(decoding: bytes, as: UTF8.self) }
        var out = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7f: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            }
        }
        return out + "\""
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.first == "\"" else { return Array(text.utf8) }
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.last == UInt8(ascii: "\"") else { return nil }
        var out: [UInt8] = []
        var i = 1
        while i < bytes.count - 1 {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            guard i + 1 < bytes.count - 1 else { return nil }
            switch bytes[i + 1] {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "x"):
                guard i + 3 < bytes.count - 1,
                      let value = UInt8(String(decoding: bytes[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) else { return nil }
                out.append(value)
                i += 2
            default:
                return nil
            }
            i += 2
        }
        return out
    }
}
