import Glibc

/// `20261206T022834Z-1f2e3d4c5b6a7980-alice.cast`: sorted by time, unique by a random session id,
/// and findable by user. Only `[A-Za-z0-9._-]` reach the file system: a user name is whatever a
/// token file or certificate said, and must not climb out of the directory or hide itself.
enum RecordingFileName {
    static let maxUserLength = 64

    static func make(time: time_t, session: String, user: String) -> String {
        "\(stamp(time))-\(session)-\(safe(user)).cast"
    }

    static func safe(_ user: String) -> String {
        var out = ""
        for byte in user.utf8.prefix(maxUserLength) {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "."):
                out.append(out.isEmpty ? "_" : ".")
            default:
                out.append("_")
            }
        }
        return out.isEmpty ? "_" : out
    }

    static func stamp(_ time: time_t) -> String {
        var seconds = time
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    static func newSessionID() -> String {
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
