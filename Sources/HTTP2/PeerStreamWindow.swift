/// The stream ids a peer opened, to catch a HEADERS on a lower id it never opened (idle streams
/// below an opened one are closed: RFC 9113 §5.1.1), which nghttp2 only ignores. A bitmap of the
/// last `span` ids up to the highest: one shift and mask per stream, where a `Set` hashed twice.
/// Ids further below are no longer tracked: a late frame there is left to nghttp2.
struct PeerStreamWindow: ~Copyable {
    /// Ids covered below the highest (odd ids only, one bit each).
    static let span: Int32 = 2048
    private static let words = Int(span / 2 / 64)

    private let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: PeerStreamWindow.words)
    private(set) var highest: Int32 = 0

    init() { bits.initialize(repeating: 0, count: Self.words) }

    deinit { bits.deallocate() }

    /// Records a stream the peer opens; false if it is lower than one already opened and was never
    /// opened itself.
    mutating func open(_ id: Int32) -> Bool {
        guard id > highest else { return id <= highest - Self.span || isSet(id) }
        // The ids skipped between the old highest and this one are closed, never opened.
        let skipped = Int((id >> 1) - (highest >> 1)) - 1
        if skipped >= Int(Self.span / 2) {
            bits.update(repeating: 0, count: Self.words)
        } else if skipped > 0 {
            let first = Int(highest >> 1) + 1
            for index in first..<(first + skipped) { clear(index: index) }
        }
        highest = id
        set(id)
        return true
    }

    /// The bit of an odd id: its index among odd ids, modulo the span.
    private func slot(index: Int) -> (word: Int, mask: UInt64) {
        let bit = index & Int(Self.span / 2 - 1)
        return (bit >> 6, 1 << UInt64(bit & 63))
    }

    private func isSet(_ id: Int32) -> Bool {
        let (word, mask) = slot(index: Int(id >> 1))
        return bits[word] & mask != 0
    }

    private func set(_ id: Int32) {
        let (word, mask) = slot(index: Int(id >> 1))
        bits[word] |= mask
    }

    private func clear(index: Int) {
        let (word, mask) = slot(index: index)
        bits[word] &= ~mask
    }
}
