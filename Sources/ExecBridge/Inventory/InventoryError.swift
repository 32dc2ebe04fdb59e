/// A malformed inventory file: where (file, entry path such as `pods[1].containers[0].env`, line)
/// and what is wrong.
public struct InventoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file (or the source name given to `Inventory(yaml:source:)`).
    public var source: String
    /// The entry, e.g. `pods[1].containers[0].name`; empty for the whole document.
    public var entry: String
    /// 1-based, when known.
    public var line: Int?
    public var problem: String

    public init(source: String, entry: String, line: Int?, problem: String) {
        self.source = source
        self.entry = entry
        self.line = line
        self.problem = problem
    }

    public var description: String {
        var text = "inventory \(source)"
        if let line { text += ":\(line)" }
        if !entry.isEmpty { text += ": \(entry)" }
        return text + ": " + problem
    }
}
