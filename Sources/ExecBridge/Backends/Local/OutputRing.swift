import ExecModel

/// The most recent output of a main process, per channel in order, so that a late attacher sees
/// what happened before it came (as `kubectl logs` would) and then the live output. Bounded: past
/// `capacity` the oldest bytes go.
struct OutputRing {
    /// Bytes kept per main process.
    static let defaultCapacity = 64 * 1024

    let capacity: Int
    private var chunks: [(channel: Channel, bytes: [UInt8])] = []
    /// Chunks before this index are dropped (compacted lazily, so trimming is not quadratic).
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = OutputRing.defaultCapacity) {
        self.capacity = capacity
    }

    mutating func append(_ channel: Channel, _ bytes: UnsafeRawBufferPointer) {
        guard capacity > 0, bytes.count > 0 else { return }
        let kept = bytes.count > capacity ? UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - capacity)...]) : bytes
        // Consecutive reads of one channel share a chunk, so a chatty process is not one chunk per byte.
        if chunks.count > head, chunks[chunks.count - 1].channel == channel, chunks[chunks.count - 1].bytes.count < 4096 {
            chunks[chunks.count - 1].bytes.append(contentsOf: kept)
        } else {
            chunks.append((channel, Array(kept)))
        }
        count += kept.count
        trim()
    }

    /// What is kept, oldest first.
    var contents: [(channel: Channel, bytes: [UInt8])] { Array(chunks[head...]) }

    mutating func removeAll() {
        chunks.removeAll()
        head = 0
        count = 0
    }

    private mutating func trim() {
        while count > capacity {
            let excess = count - capacity
            let first = chunks[head].bytes.count
            if first <= excess {
                head += 1
                count -= first
            } else {
                chunks[head].bytes.removeFirst(excess)
                count -= excess
            }
        }
        if head > 64 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }
}
