/// The 8-byte header of a DATA frame: 0 | stream-id(31) | flags(8) | length(24). The caller writes it and then
/// the payload itself, so the codec never copies payload.
public struct SPDYDataFrameHeader: Hashable, Sendable {
    // Two big-endian words in a homogeneous tuple: contiguous, exactly 8 bytes.
    private var words: (UInt32, UInt32)

    public init(streamID: UInt32, length: Int, fin: Bool) {
        let flags: UInt32 = fin ? UInt32(SPDYWire.flagFin) : 0
        words = ((streamID & SPDYWire.maxStreamID).bigEndian,
                 (flags << 24 | UInt32(truncatingIfNeeded: length) & 0x00ff_ffff).bigEndian)
    }

    public var streamID: UInt32 { UInt32(bigEndian: words.0) }
    public var length: Int { Int(UInt32(bigEndian: words.1) & 0x00ff_ffff) }
    public var fin: Bool { UInt32(bigEndian: words.1) >> 24 & UInt32(SPDYWire.flagFin) != 0 }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = words
        return try Swift.withUnsafeBytes(of: &copy, body)
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public static func == (a: Self, b: Self) -> Bool { a.words == b.words }
    public func hash(into h: inout Hasher) {
        h.combine(words.0)
        h.combine(words.1)
    }
}
