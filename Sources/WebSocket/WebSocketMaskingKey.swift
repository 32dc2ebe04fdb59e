/// The 4-byte key a client XORs over each frame payload (RFC 6455 §5.3).
public struct WebSocketMaskingKey: Hashable, Sendable {
    public var b0: UInt8, b1: UInt8, b2: UInt8, b3: UInt8

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        (self.b0, self.b1, self.b2, self.b3) = (b0, b1, b2, b3)
    }

    /// A fresh unpredictable key, as §5.3 requires (the system CSPRNG).
    public static func random() -> WebSocketMaskingKey {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt32
        return WebSocketMaskingKey(UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                                   UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24))
    }

    @inline(__always)
    func byte(_ index: Int) -> UInt8 {
        switch index & 3 {
        case 0: return b0
        case 1: return b1
        case 2: return b2
        default: return b3
        }
    }

    /// Eight key bytes in memory order starting at key position `offset`, so one 64-bit XOR
    /// masks eight payload bytes whatever the host byte order.
    @inline(__always)
    func word(startingAt offset: Int) -> UInt64 {
        var word: UInt64 = 0
        withUnsafeMutableBytes(of: &word) { raw in
            for i in 0..<8 { raw[i] = byte(offset + i) }
        }
        return word
    }

    /// XORs `source` into `destination` (which may be the same memory), the first byte taking
    /// key position `keyOffset` (the payload position modulo 4).
    func apply(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, keyOffset: Int) {
        precondition(destination.count >= source.count, "mask destination too small")
        let count = source.count
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
        var i = 0
        let wide = word(startingAt: keyOffset)
        while i + 8 <= count {
            let value = src.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ wide
            dst.storeBytes(of: value, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let value = src.load(fromByteOffset: i, as: UInt8.self) ^ byte(keyOffset + i)
            dst.storeBytes(of: value, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }
}
