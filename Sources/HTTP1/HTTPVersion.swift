/// An HTTP/1.x protocol version (`HTTP/major.minor`).
public struct HTTPVersion: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http11 = HTTPVersion(major: 1, minor: 1)
    public static let http10 = HTTPVersion(major: 1, minor: 0)

    public var description: String { "HTTP/\(major).\(minor)" }
}
