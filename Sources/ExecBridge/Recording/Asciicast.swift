import ExecModel

/// The asciicast v2 format (https://docs.asciinema.org/manual/asciicast/v2/): a header object on
/// the first line, then one `[time, code, data]` array per line. Keys the format does not define
/// are allowed in the header; ours sit under `execbridge` so that no player mistakes them.
enum Asciicast {
    static let defaultSize = TerminalSize(width: 80, height: 24)

    static func header(_ request: ExecRequest, size: TerminalSize, timestamp: Int, session: String) -> String {
        let target = object([("node", string(request.target.node)), ("namespace", string(request.target.namespace)),
                             ("pod", string(request.target.pod)), ("container", string(request.target.container))])
        let own = object([("session", string(session)), ("user", string(request.identity.user)), ("target", target),
                          ("generation", string(request.generation?.rawValue)), ("version", string(request.version.token)),
                          ("tty", request.tty ? "true" : "false")])
        return object([("version", "2"), ("width", "\(size.width)"), ("height", "\(size.height)"),
                       ("timestamp", "\(timestamp)"), ("command", string(command(request.command))),
                       ("title", string("\(request.identity.user) \(request.target)")), ("execbridge", own)]) + "\n"
    }

    /// Members in the order given: a header reads best in a fixed order.
    private static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { JSONText.quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    private static func string(_ value: String?) -> String {
        value.map(JSONText.quoted) ?? "null"
    }

    /// `code`: `o` output, `i` input, `r` resize (`COLSxROWS`), `m` marker.
    static func event(at seconds: Double, _ code: String, _ data: String) -> String {
        "[\(time(seconds)), \"\(code)\", \(JSONText.quoted(data))]\n"
    }

    /// The longest prefix of `data` whose JSON string escaping takes at most `budget` bytes (the
    /// escapes are `JSONText`'s).
    static func prefix(_ data: String, escapedWithin budget: Int) -> String {
        var used = 0
        var out = String.UnicodeScalarView()
        for scalar in data.unicodeScalars {
            let cost: Int
            switch scalar {
            case "\"", "\\", "\n", "\r", "\t": cost = 2
            case "<", ">", "&", "\u{2028}", "\u{2029}": cost = 6
            default: cost = scalar.value < 0x20 ? 6 : UTF8.width(scalar)
            }
            guard used + cost <= budget else { break }
            used += cost
            out.append(scalar)
        }
        return String(out)
    }

    /// Seconds since the session started, to the microsecond as asciinema writes them.
    static func time(_ seconds: Double) -> String {
        let micros = Int((max(0, seconds) * 1_000_000).rounded())
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// The argv as one shell-readable line (the header's `command` is a string).
    static func command(_ argv: [String]) -> String {
        argv.map { word in
            let plain = !word.isEmpty && word.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || "-_./=:,+@%".utf8.contains(byte)
            }
            return plain ? word : "'" + word.map { $0 == "'" ? "'\\''" : String($0) }.joined() + "'"
        }.joined(separator: " ")
    }
}
