/// The bytes queued on one stream, not yet written. A ring, so appends and partial drains never
/// shift memory; it grows to what the producer queued (the producer bounds that through
/// `pendingBytes` / the high-water mark) and gives its memory back once drained.
struct ByteRing: ~Copyable {
    private var storage: UnsafeMutableRawPointer? = nil
    private var capacity = 0
    private var head = 0
    private(set) var count = 0

    /// Above this, an empty ring frees its storage instead of keeping it for the next burst.
    private static let retainedCapacity = 128 << 10

    init() {}

    deinit { storage?.deallocate() }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if count + bytes.count > capacity { grow(to: count + bytes.count) }
        guard let base = storage else { return }
        let tail = (head + count) % capacity
        let first = min(bytes.count, capacity - tail)
        (base + tail).copyMemory(from: source, byteCount: first)
        if first < bytes.count { base.copyMemory(from: source + first, byteCount: bytes.count - first) }
        count += bytes.count
    }

    /// The contiguous bytes at the head, at most `max` of them.
    func headSpan(max limit: Int) -> UnsafeRawBufferPointer {
        guard let base = storage, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + head, count: min(limit, count, capacity - head))
    }

    mutating func drop(_ n: Int) {
        let n = min(n, count)
        count -= n
        head = count == 0 ? 0 : (head + n) % capacity
        if count == 0 && capacity > Self.retainedCapacity { release() }
    }

    mutating func release() {
        storage?.deallocate()
        storage = nil
        capacity = 0
        head = 0
        count = 0
    }

    private mutating func grow(to needed: Int) {
        // Small first: most answers (probes, errors, exit statuses) are a few bytes, and a 4 KiB
        // block per stream cost more in malloc than the doublings a bulk stream pays.
        var newCapacity = max(capacity, 256)
        while newCapacity < needed { newCapacity *= 2 }
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let base = storage, count > 0 {
            let first = min(count, capacity - head)
            fresh.copyMemory(from: base + head, byteCount: first)
            if first < count { (fresh + first).copyMemory(from: base, byteCount: count - first) }
        }
        storage?.deallocate()
        storage = fresh
        capacity = newCapacity
        head = 0
    }
}
