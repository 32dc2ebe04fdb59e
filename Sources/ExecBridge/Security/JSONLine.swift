import ExecModel

/// Builds one JSON object, fields in the order written (audit lines read best in a fixed order).
struct JSONLine {
    private(set) var text = "{"
    private var empty = true

    private mutating func key(_ name: String) {
        if !empty { text += "," }
        empty = false
        text += JSONText.quoted(name) + ":"
    }

    mutating func add(_ name: String, _ value: String?) {
        key(name)
        text += value.map(JSONText.quoted) ?? "null"
    }

    mutating func add(_ name: String, _ value: Int) {
        key(name)
        text += String(value)
    }

    mutating func add(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    /// Milliseconds are enough for a duration in an audit record.
    mutating func add(_ name: String, seconds: Double) {
        key(name)
        let ms = Int((max(0, seconds) * 1000).rounded())
        let fraction = String(ms % 1000)
        text += "\(ms / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    mutating func add(_ name: String, _ values: [String]) {
        key(name)
        text += "[" + values.map(JSONText.quoted).joined(separator: ",") + "]"
    }

    mutating func add(_ name: String, object: JSONLine) {
        key(name)
        text += object.finished
    }

    var finished: String { text + "}" }
}
