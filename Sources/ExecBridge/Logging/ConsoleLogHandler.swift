import Glibc
import Logging

/// Log lines to standard error, as text or one JSON object per line. Writes go straight to fd 2
/// in one `write` per line, so lines from several loop threads never interleave.
public struct ConsoleLogHandler: LogHandler {
    public enum Format: String, Sendable { case text, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: Format

    public init(label: String, format: Format, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        var all = metadata
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        let time = ConsoleLogHandler.timestamp()
        var out: String
        switch format {
        case .text:
            out = "\(time) \(level) \(message)"
            for (key, value) in all.sorted(by: { $0.key < $1.key }) { out += " \(key)=\(value)" }
        case .json:
            out = "{\"time\":\"\(time)\",\"level\":\"\(level)\",\"msg\":" + ConsoleLogHandler.quote("\(message)")
            for (key, value) in all.sorted(by: { $0.key < $1.key }) {
                out += "," + ConsoleLogHandler.quote(key) + ":" + ConsoleLogHandler.quote("\(value)")
            }
            out += "}"
        }
        out += "\n"
        out.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += "\\u" + hex4(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tmv = tm()
        var seconds = ts.tv_sec
        gmtime_r(&seconds, &tmv)
        func pad(_ v: Int32, _ n: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1))-\(pad(tmv.tm_mday))T"
            + "\(pad(tmv.tm_hour)):\(pad(tmv.tm_min)):\(pad(tmv.tm_sec)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}

private func hex4(_ value: UInt32) -> String {
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}
