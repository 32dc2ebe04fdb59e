/// An upper bound on how deeply a YAML text nests collections, taken before Yams composes it: Yams
/// builds nodes recursively, and a couple of thousand `[` overflow the stack (found by Fuzz/FuzzPolicy).
/// The bound may count too high (brackets inside quotes or block scalars, indentation), never too
/// low: openers always count, closers only outside quoted scalars.
enum YAMLNesting {
    /// Far above any real inventory or policy (a handful of levels), far below a stack overflow.
    static let limit = 256

    static func exceedsLimit(_ text: String) -> Bool { bound(text) > limit }

    static func bound(_ text: String) -> Int {
        var flow = 0
        var worst = 0
        var quote: UInt8?
        let bytes = Array(text.utf8)
        var i = 0
        var lineStart = true
        var indent = 0
        var indicators = 0
        var previous: UInt8 = 0x20
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            if byte == 0x0A {
                if isIndicator(previous) { indicators += 1 }
                worst = max(worst, flow + 2 * indent + indicators)
                lineStart = true
                indent = 0
                indicators = 0
                previous = 0x20
                continue
            }
            if byte == 0x5B || byte == 0x7B {
                flow += 1
                worst = max(worst, flow + 2 * indent + indicators)
            }
            if let open = quote {
                if open == 0x22 && byte == 0x5C {
                    i += 1 // an escaped character
                } else if byte == open {
                    if open == 0x27 && i < bytes.count && bytes[i] == 0x27 { i += 1 } else { quote = nil }
                }
                previous = byte
                continue
            }
            if lineStart && (byte == 0x20 || byte == 0x09) {
                indent += 1
                continue
            }
            lineStart = false
            switch byte {
            case 0x22 where startsScalar(previous), 0x27 where startsScalar(previous):
                quote = byte
            case 0x23 where previous == 0x20 || previous == 0x09:
                // A comment: skip to the end of the line.
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            case 0x5D, 0x7D:
                flow = max(0, flow - 1)
            case 0x20 where isIndicator(previous), 0x09 where isIndicator(previous):
                indicators += 1
            default:
                break
            }
            previous = byte
        }
        return max(worst, flow + 2 * indent + indicators + 1)
    }

    /// `-`, `?` and `:` open a block collection level when a space or the line end follows.
    private static func isIndicator(_ byte: UInt8) -> Bool { byte == 0x2D || byte == 0x3F || byte == 0x3A }

    /// A quote opens a quoted scalar only where a scalar can begin.
    private static func startsScalar(_ previous: UInt8) -> Bool {
        [0x20, 0x09, 0x5B, 0x7B, 0x2C, 0x3A, 0x2D, 0x3F].contains(previous)
    }
}
