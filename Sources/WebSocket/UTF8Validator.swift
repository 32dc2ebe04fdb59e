/// Incremental UTF-8 validation (Unicode Table 3-7: no overlongs, no surrogates, ≤ U+10FFFF), so a
/// text message is checked chunk by chunk as it streams, across fragment boundaries, and rejected
/// at the first bad byte.
struct UTF8Validator {
    /// Continuation bytes still expected for the current scalar.
    private var needed: UInt8 = 0
    /// Allowed range of the next continuation byte (narrower right after some lead bytes).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// True when the bytes so far end on a scalar boundary.
    var isComplete: Bool { needed == 0 }

    mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            if needed == 0 {
                // Text in this gateway is mostly ASCII (base64 channels): skip it eight bytes at a time.
                while i + 8 <= count,
                      base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                }
                guard i < count else { break }
                let lead = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                switch lead {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: (needed, lower, upper) = (1, 0x80, 0xBF)
                case 0xE0: (needed, lower, upper) = (2, 0xA0, 0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: (needed, lower, upper) = (2, 0x80, 0xBF)
                case 0xED: (needed, lower, upper) = (2, 0x80, 0x9F)
                case 0xF0: (needed, lower, upper) = (3, 0x90, 0xBF)
                case 0xF1...0xF3: (needed, lower, upper) = (3, 0x80, 0xBF)
                case 0xF4: (needed, lower, upper) = (3, 0x80, 0x8F)
                default: return false
                }
            } else {
                let next = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                guard next >= lower && next <= upper else { return false }
                needed -= 1
                (lower, upper) = (0x80, 0xBF)
            }
        }
        return true
    }
}
