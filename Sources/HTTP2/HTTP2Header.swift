/// One header field. Names go out lowercased (HTTP/2 forbids uppercase); received bytes that are not
/// UTF-8 are decoded with replacement characters, which exec headers never contain.
public struct HTTP2Header: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

extension Array where Element == HTTP2Header {
    /// The first value of `name` (compared as given: received names are already lowercase).
    public func first(_ name: String) -> String? {
        for header in self where header.name == name { return header.value }
        return nil
    }
}
