/// An ordered list of header fields. Names are stored lowercase (SPDY requires it on the wire) and looked up
/// case-insensitively. A name may repeat; on the wire repeated names travel as one NUL-joined value.
public struct SPDYHeaders: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    CustomStringConvertible
{
    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: String
    }

    public private(set) var fields: [Field]

    public init() { fields = [] }

    public init(_ pairs: [(String, String)]) {
        fields = []
        fields.reserveCapacity(pairs.count)
        for (name, value) in pairs { add(name, value) }
    }

    public init(arrayLiteral elements: (String, String)...) { self.init(elements) }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// Appends a field; the name is lowercased (ASCII).
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: asciiLowercased(name), value: value))
    }

    /// Replaces every field of that name by one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// The first value of that name.
    public subscript(name: String) -> String? {
        fields.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// Every value of that name, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { asciiCaseInsensitiveEquals($0.name, name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    public var description: String {
        "[" + fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
    }
}

func asciiLowercased(_ s: String) -> String {
    if !s.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) { return s }
    return String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
}

func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    let a = a.utf8, b = b.utf8
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) where x != y {
        let lx = x >= 0x41 && x <= 0x5a ? x | 0x20 : x
        let ly = y >= 0x41 && y <= 0x5a ? y | 0x20 : y
        if lx != ly { return false }
    }
    return true
}
