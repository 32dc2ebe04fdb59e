/// Header lines in arrival order. Lookups ignore ASCII case; nothing is merged or reordered, because
/// repeated lines carry meaning here (one `X-Stream-Protocol-Version` line per offered version).
public struct HTTPHeaders: Sendable, Sequence, Equatable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public typealias Element = (name: String, value: String)

    private var storage: [Element]

    public init(_ pairs: [(String, String)] = []) {
        storage = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// `[("Host", "gw"), ("Upgrade", "h2c")]`: a list, because order and repetition matter.
    public init(arrayLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var pairs: [(name: String, value: String)] { storage }
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public mutating func add(_ name: String, _ value: String) {
        storage.append((name: name, value: value))
    }

    /// Removes every line of `name`.
    public mutating func remove(_ name: String) {
        storage.removeAll { Self.sameName($0.name, name) }
    }

    /// Replaces every line of `name` by one line (appended where the first one was, or at the end).
    public mutating func replaceOrAdd(_ name: String, _ value: String) {
        if let index = storage.firstIndex(where: { Self.sameName($0.name, name) }) {
            storage[index] = (name: name, value: value)
            var later = index + 1
            while later < storage.count {
                if Self.sameName(storage[later].name, name) { storage.remove(at: later) } else { later += 1 }
            }
        } else {
            add(name, value)
        }
    }

    public subscript(first name: String) -> String? {
        storage.first { Self.sameName($0.name, name) }?.value
    }

    /// Every line of `name`, in order.
    public func values(_ name: String) -> [String] {
        storage.compactMap { Self.sameName($0.name, name) ? $0.value : nil }
    }

    /// The comma-separated list of `name` over all its lines: trimmed, lowercased, empty items dropped.
    public func tokens(_ name: String) -> [String] {
        var result: [String] = []
        for value in values(name) {
            for item in value.split(separator: ",", omittingEmptySubsequences: true) {
                let trimmed = HTTPSyntax.trimmingWhitespace(item)
                if !trimmed.isEmpty { result.append(trimmed.lowercased()) }
            }
        }
        return result
    }

    public func contains(_ name: String) -> Bool {
        storage.contains { Self.sameName($0.name, name) }
    }

    public func makeIterator() -> IndexingIterator<[Element]> {
        storage.makeIterator()
    }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.storage.count == b.storage.count
            && zip(a.storage, b.storage).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public var description: String {
        storage.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    /// ASCII case-insensitive comparison without allocating lowercased copies.
    static func sameName(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case let (x?, y?):
                if x != y && HTTPSyntax.lowercase(x) != HTTPSyntax.lowercase(y) { return false }
            default: return false
            }
        }
    }
}
