import Glibc

/// Bytes accepted for the child's stdin that the pipe (or pty) could not take yet. One contiguous
/// region with a read offset; it grows only while the child is slower than the client, up to `limit`
/// (the bridge pauses the client long before, when `pendingBytes` passes its budget).
final class StdinQueue {
    let limit: Int
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var head = 0
    private var tail = 0

    init(limit: Int) {
        self.limit = limit
    }

    deinit { storage?.deallocate() }

    var count: Int { tail - head }
    var isEmpty: Bool { head == tail }

    /// Appends a copy of `bytes`; false (nothing appended) when that would pass `limit`.
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return true }
        guard count + bytes.count <= limit else { return false }
        if tail + bytes.count > capacity {
            makeRoom(for: bytes.count)
        }
        guard let storage else { return false }
        (storage + tail).copyMemory(from: source, byteCount: bytes.count)
        tail += bytes.count
        return true
    }

    /// The queued bytes, oldest first (valid until the next mutation).
    var readable: UnsafeRawBufferPointer {
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: storage + head, count: count)
    }

    func consume(_ byteCount: Int) {
        head += min(byteCount, count)
        if head == tail {
            head = 0
            tail = 0
            // A burst should not pin its peak size for the rest of a long session.
            if capacity > 256 * 1024 { removeAll() }
        }
    }

    func removeAll() {
        storage?.deallocate()
        storage = nil
        capacity = 0
        head = 0
        tail = 0
    }

    private func makeRoom(for extra: Int) {
        let needed = count + extra
        if let storage, needed <= capacity {
            // Enough room once the consumed prefix is dropped.
            memmove(storage, storage + head, count)
            tail = count
            head = 0
            return
        }
        let newCapacity = min(max(needed, capacity * 2, 16 * 1024), max(limit, needed))
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let storage {
            newStorage.copyMemory(from: storage + head, byteCount: count)
            storage.deallocate()
        }
        tail = count
        head = 0
        storage = newStorage
        capacity = newCapacity
    }
}
