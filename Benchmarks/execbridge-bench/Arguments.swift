/// The bench tool's command line: a subcommand, `--name value` options, and, after `--`, a command.
/// Hand-rolled because the target may depend only on ExecBridge, ExecModel and Reactor.
struct Arguments {
    let subcommand: String
    private var options: [String: String] = [:]
    /// Everything after `--` (the command `spawn` runs).
    private(set) var trailing: [String] = []

    init(_ argv: [String]) throws {
        guard let first = argv.first else { throw UsageError("missing subcommand") }
        subcommand = first
        var i = 1
        while i < argv.count {
            let word = argv[i]
            if word == "--" {
                trailing = Array(argv[(i + 1)...])
                break
            }
            guard word.hasPrefix("--"), i + 1 < argv.count else { throw UsageError("unexpected argument '\(word)'") }
            options[String(word.dropFirst(2))] = argv[i + 1]
            i += 2
        }
    }

    func string(_ name: String, default value: String? = nil) throws -> String {
        if let given = options[name] { return given }
        if let value { return value }
        throw UsageError("--\(name) is required")
    }

    func optionalString(_ name: String) -> String? { options[name] }

    func int(_ name: String, default value: Int? = nil) throws -> Int {
        guard let text = options[name] else {
            if let value { return value }
            throw UsageError("--\(name) is required")
        }
        guard let number = Int(text) else { throw UsageError("--\(name) wants a number, got '\(text)'") }
        return number
    }

    /// A byte count: plain, or with a K/M/G suffix (binary, as `head -c` reads them).
    func size(_ name: String, default value: Int) throws -> Int {
        guard let text = options[name] else { return value }
        guard let bytes = Self.parseSize(text) else { throw UsageError("--\(name) wants a size like 1G, 64M, 4096; got '\(text)'") }
        return bytes
    }

    static func parseSize(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        guard let last = text.last else { return nil }
        if let unit = units[Character(last.uppercased())] {
            return Int(text.dropLast()).map { $0 * unit }
        }
        return Int(text)
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
