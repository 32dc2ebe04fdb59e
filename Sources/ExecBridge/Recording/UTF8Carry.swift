/// Turns a byte stream cut into arbitrary chunks into valid UTF-8 text, as asciinema's own
/// recorder does with its incremental decoder: a multibyte sequence split across two chunks is held
/// back (at most 3 bytes) and completed by the next chunk; bytes that can never be UTF-8 become
/// U+FFFD, because an asciicast event is a JSON string and must be valid Unicode.
struct UTF8Carry {
    private var pending: [UInt8] = []

    /// The text of `chunk`, minus an incomplete sequence at its end (kept for the next call).
    mutating func decode(_ chunk: UnsafeRawBufferPointer) -> String {
        var bytes = pending
        bytes.append(contentsOf: chunk)
        let cut = Self.completePrefix(bytes)
        pending = Array(bytes[cut...])
        return String(decoding: bytes[..<cut], as: UTF8.self)
    }

    /// What is still held back, as replacement characters (the stream ended mid-sequence).
    mutating func flush() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing lead byte whose continuation bytes have not all
    /// arrived yet.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        var index = bytes.count - 1
        var continuations = 0
        while index >= 0, continuations < 3, bytes[index] & 0xC0 == 0x80 {
            index -= 1
            continuations += 1
        }
        guard index >= 0 else { return bytes.count }
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return bytes.count  // ASCII or never valid: nothing to wait for
        }
        return continuations + 1 < length ? index : bytes.count
    }
}
