import Glibc

// Leaf values every folder may use; this file depends on nothing else in the module.

public enum ExecBridgeVersion {
    public static let string = "0.1.0"
}

/// A setting that cannot be used as given: the message is printed and the gateway does not start.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Runs `body`, prefixing any error with the option that named the file, so that a refusal
    /// says which flag to fix (`--token-file: cannot open /nope.csv: …`).
    static func naming<T>(_ option: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw ConfigurationError("\(option): \(error)") }
    }
}

/// strerror in Go's spelling (lowercase first letter), as Kubernetes messages show it.
func errorText(_ error: Int32) -> String {
    let text = String(cString: strerror(error))
    guard let first = text.first else { return "errno \(error)" }
    return first.lowercased() + text.dropFirst()
}
