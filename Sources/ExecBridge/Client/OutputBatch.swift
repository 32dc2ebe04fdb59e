import ExecModel

/// Output payload a client role received during one read of its socket, handed on as one event.
///
/// An upstream's DATA frames arrive split at the frame sizes the server chose (32 KiB for the Go
/// and kubelet servers) and again at the edges of the gateway's input buffer, so one read used to
/// become a dozen `.data` events, each a frame of its own toward the client: the Go spdystream
/// client pays per frame (an allocation, two goroutine hand-offs). Batched, a read is a few events
/// of up to `limit` bytes each, as large as the frontends' largest frames (64 KiB), and a streaming
/// session holds one such buffer, not more.
///
/// The owner keeps the order: it takes the batch and hands it on before anything else it reports
/// (a change of channel, a half-close, the status), and at the end of every read. Taking empties
/// the batch first, so a receiver that re-enters the owner finds it empty, never half-handed-on.
struct OutputBatch {
    /// Bytes held at most.
    let limit: Int
    private var channel: Channel?
    private var bytes: [UInt8] = []
    /// The storage of the last batch taken, for the next read.
    private var spare: [UInt8] = []

    init(limit: Int = 64 * 1024) { self.limit = limit }

    var isEmpty: Bool { bytes.isEmpty }
    var count: Int { bytes.count }

    /// Whether `count` more bytes for `channel` may join what is held (if not: take it first).
    func accepts(_ count: Int, on channel: Channel) -> Bool {
        bytes.isEmpty || (self.channel == channel && bytes.count + count <= limit)
    }

    /// Holds a copy of `payload`. Call only when `accepts` said so, with less than `limit` bytes
    /// (a larger payload is handed on as it is).
    mutating func append(_ payload: UnsafeRawBufferPointer, on channel: Channel) {
        if bytes.isEmpty, bytes.capacity < limit {
            swap(&bytes, &spare)
            if bytes.capacity < limit { bytes.reserveCapacity(limit) }
        }
        self.channel = channel
        bytes.append(contentsOf: payload)
    }

    /// Empties the batch and returns what it held (nil when empty).
    mutating func take() -> (channel: Channel, bytes: [UInt8])? {
        guard let channel, !bytes.isEmpty else { return nil }
        var held: [UInt8] = []
        swap(&held, &bytes)
        self.channel = nil
        return (channel, held)
    }

    /// Gives back the storage of a batch taken and handed on, for the next one.
    mutating func recycle(_ storage: [UInt8]) {
        var storage = storage
        storage.removeAll(keepingCapacity: true)
        if spare.capacity < storage.capacity { spare = storage }
    }

    /// Frees the storage (the session ended: no read follows).
    mutating func release() {
        channel = nil
        bytes = []
        spare = []
    }
}
