/// Standard base64 (RFC 4648 §4, with padding) over raw buffers, for the base64 channel
/// subprotocols (`v4.base64.channel.k8s.io`, `base64.channel.k8s.io`), whose text messages carry
/// Go's `base64.StdEncoding`.
enum ChannelBase64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Bytes that `encode` writes for `count` input bytes.
    static func encodedLength(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `source` into `destination` (at least `encodedLength(source.count)` bytes long) and
    /// returns the number of bytes written.
    static func encode(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        let count = source.count
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress,
              destination.count >= encodedLength(count) else { return 0 }
        return alphabet.withUnsafeBufferPointer { table in
            var i = 0
            var o = 0
            while i + 3 <= count {
                let b0 = UInt32(src.load(fromByteOffset: i, as: UInt8.self))
                let b1 = UInt32(src.load(fromByteOffset: i + 1, as: UInt8.self))
                let b2 = UInt32(src.load(fromByteOffset: i + 2, as: UInt8.self))
                let group = b0 << 16 | b1 << 8 | b2
                dst.storeBytes(of: table[Int(group >> 18)], toByteOffset: o, as: UInt8.self)
                dst.storeBytes(of: table[Int(group >> 12 & 63)], toByteOffset: o + 1, as: UInt8.self)
                dst.storeBytes(of: table[Int(group >> 6 & 63)], toByteOffset: o + 2, as: UInt8.self)
                dst.storeBytes(of: table[Int(group & 63)], toByteOffset: o + 3, as: UInt8.self)
                i += 3
                o += 4
            }
            let rest = count - i
            if rest > 0 {
                let b0 = UInt32(src.load(fromByteOffset: i, as: UInt8.self))
                let b1 = rest == 2 ? UInt32(src.load(fromByteOffset: i + 1, as: UInt8.self)) : 0
                let group = b0 << 16 | b1 << 8
                let pad = UInt8(ascii: "=")
                dst.storeBytes(of: table[Int(group >> 18)], toByteOffset: o, as: UInt8.self)
                dst.storeBytes(of: table[Int(group >> 12 & 63)], toByteOffset: o + 1, as: UInt8.self)
                dst.storeBytes(of: rest == 2 ? table[Int(group >> 6 & 63)] : pad, toByteOffset: o + 2, as: UInt8.self)
                dst.storeBytes(of: pad, toByteOffset: o + 3, as: UInt8.self)
                o += 4
            }
            return o
        }
    }

    /// Value of each input byte: 0–63, or one of the markers below.
    fileprivate static let values: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        table[Int(UInt8(ascii: "="))] = padding
        // Go's decoder skips line breaks anywhere.
        table[Int(UInt8(ascii: "\r"))] = skip
        table[Int(UInt8(ascii: "\n"))] = skip
        return table
    }()
    fileprivate static let invalid: UInt8 = 0xFF
    fileprivate static let padding: UInt8 = 0xFE
    fileprivate static let skip: UInt8 = 0xFD
}

/// Decodes one base64 message that arrives in chunks split anywhere (a group of four characters
/// may straddle two chunks). Strict as Go's `StdEncoding`: padding is required, and nothing but
/// line breaks may follow it.
struct ChannelBase64Decoder {
    private var group: UInt32 = 0
    private var have = 0
    /// Padding characters seen in the current (last) group.
    private var pads = 0
    private var ended = false

    init() {}

    /// True when the input so far ends on a group boundary (a whole message).
    var isComplete: Bool { have == 0 }

    mutating func reset() {
        self = ChannelBase64Decoder()
    }

    /// The most bytes `decode` writes for `count` input characters.
    static func maxDecodedLength(_ count: Int) -> Int { (count + 3) / 4 * 3 }

    /// Decodes `source` into `destination` (at least `maxDecodedLength(source.count)` bytes).
    /// Returns the number of bytes written and whether the input was valid: at the first invalid
    /// character decoding stops, and what came before it is in `destination`.
    mutating func decode(_ source: UnsafeRawBufferPointer,
                         into destination: UnsafeMutableRawBufferPointer) -> (count: Int, valid: Bool) {
        guard let dst = destination.baseAddress else { return (0, source.isEmpty) }
        return ChannelBase64.values.withUnsafeBufferPointer { values -> (count: Int, valid: Bool) in
            var o = 0
            for byte in source {
                let value = values[Int(byte)]
                if value == ChannelBase64.skip { continue }
                guard !ended else { return (o, false) }
                if value == ChannelBase64.padding {
                    // "=" only in the third or fourth place of a group, and "==" only as a pair.
                    guard have >= 2 else { return (o, false) }
                    pads += 1
                    have += 1
                    group <<= 6
                } else {
                    guard value < 64, pads == 0 else { return (o, false) }
                    group = group << 6 | UInt32(value)
                    have += 1
                }
                guard have == 4 else { continue }
                let bytes = 3 - pads
                guard o + bytes <= destination.count else { return (o, false) }
                dst.storeBytes(of: UInt8(truncatingIfNeeded: group >> 16), toByteOffset: o, as: UInt8.self)
                if bytes > 1 { dst.storeBytes(of: UInt8(truncatingIfNeeded: group >> 8), toByteOffset: o + 1, as: UInt8.self) }
                if bytes > 2 { dst.storeBytes(of: UInt8(truncatingIfNeeded: group), toByteOffset: o + 2, as: UInt8.self) }
                o += bytes
                if pads > 0 { ended = true }
                group = 0
                have = 0
                pads = 0
            }
            return (o, true)
        }
    }
}
