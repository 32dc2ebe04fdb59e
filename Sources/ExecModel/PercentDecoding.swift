/// RFC 3986 percent-decoding, as Go's `url.PathUnescape` (path) and `url.QueryUnescape` (query, '+' = space).
enum PercentDecoding {
    enum Failure: Error, Equatable {
        case badEscape(String)
        case notUTF8
    }

    static func decode<S: StringProtocol>(_ text: S, plusIsSpace: Bool) -> Result<String, Failure> {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return .success(String(text))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first != utf8.endIndex, let high = hexValue(utf8[first]) else {
                    return .failure(.badEscape(escapeText(utf8, from: index)))
                }
                let second = utf8.index(after: first)
                guard second != utf8.endIndex, let low = hexValue(utf8[second]) else {
                    return .failure(.badEscape(escapeText(utf8, from: index)))
                }
                bytes.append(high << 4 | low)
                index = utf8.index(after: second)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index = utf8.index(after: index)
            }
        }
        // argv and names are handed on as Swift strings: refuse what would be altered by repair.
        guard let decoded = String(validating: bytes, as: UTF8.self) else { return .failure(.notUTF8) }
        return .success(decoded)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Go's `url.EscapeError` text names the bad escape, e.g. `"%zz"`.
    private static func escapeText<C: Collection>(_ utf8: C, from index: C.Index) -> String where C.Element == UInt8 {
        String(decoding: utf8[index...].prefix(3), as: UTF8.self)
    }
}
