/// The frames nghttp2 writes during one flush, gathered into one bounded buffer so that the
/// delegate (the socket's output) takes one write per flush instead of one per frame: a request
/// answered with HEADERS and DATA was four writes, each a protocol call, an evbuffer append and
/// its bookkeeping. Payloads of at least `capacity / 4` bytes bypass it (copying bulk DATA twice
/// would cost more than the call it saves).
struct OutputStage: ~Copyable {
    static let capacity = 16 * 1024

    private let storage = UnsafeMutableRawPointer.allocate(byteCount: OutputStage.capacity, alignment: 16)
    private(set) var count = 0

    init() {}

    deinit { storage.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// Whether `bytes` should be staged rather than written on their own (after emptying the stage).
    static func stages(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count < capacity / 4
    }

    /// False when there is no room: emit the stage first.
    func fits(_ bytes: UnsafeRawBufferPointer) -> Bool {
        count + bytes.count <= Self.capacity
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(fits(bytes), "OutputStage overflow")
        (storage + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// The staged bytes, valid until the next `append` or `removeAll`.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    mutating func removeAll() {
        count = 0
    }
}
