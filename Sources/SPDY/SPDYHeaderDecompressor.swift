import CZlib

/// The inbound half of SPDY/3 header compression: ONE inflate stream for the whole connection. Every inbound
/// block must pass through here in order, even one whose frame is then discarded. Output is bounded per block.
public final class SPDYHeaderDecompressor {
    private let stream: UnsafeMutablePointer<z_stream>
    private var initialized = false
    private var out: UnsafeMutableRawPointer
    private var capacity: Int
    private let maxBlockSize: Int
    private static let initialCapacity = 1024
    private static let retainedCapacity = 64 * 1024

    public init(maxBlockSize: Int = 256 * 1024) {
        self.maxBlockSize = max(maxBlockSize, 4)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        capacity = Self.initialCapacity
        out = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        out.deallocate()
    }

    private func grow() {
        // One byte past the limit lets "exactly the limit" pass and anything more fail.
        let next = min(capacity * 2, maxBlockSize + 1)
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: next, alignment: 8)
        bigger.copyMemory(from: out, byteCount: capacity)
        out.deallocate()
        out = bigger
        capacity = next
    }

    /// Inflates one compressed block and hands the inflated bytes to `body` (valid only inside it).
    /// Throws `.compression` on corrupt input and `.headerBlockTooLarge` past the bound; both leave the stream
    /// unusable, which is fine because both end the connection.
    public func decompress<R>(_ block: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if !initialized {
            let rc = eb_inflate_init(stream)
            guard rc == Z_OK else { throw SPDYError.compression("inflateInit failed (\(rc))") }
            initialized = true
        }
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            if capacity > Self.retainedCapacity {
                out.deallocate()
                capacity = Self.initialCapacity
                out = .allocate(byteCount: capacity, alignment: 8)
            }
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: block.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(block.count)
        var produced = 0
        while true {
            if produced == capacity {
                if capacity > maxBlockSize { throw SPDYError.headerBlockTooLarge(limit: maxBlockSize) }
                grow()
            }
            stream.pointee.next_out = (out + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(capacity - produced)
            let rc = inflate(stream, Z_SYNC_FLUSH)
            produced = capacity - Int(stream.pointee.avail_out)
            switch rc {
            case Z_NEED_DICT:
                let set = spdy3HeaderDictionary.withUnsafeBufferPointer {
                    inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                }
                guard set == Z_OK else { throw SPDYError.compression("peer used an unknown preset dictionary") }
            case Z_OK, Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                    if produced > maxBlockSize { throw SPDYError.headerBlockTooLarge(limit: maxBlockSize) }
                    return try body(UnsafeRawBufferPointer(start: out, count: produced))
                }
                if rc == Z_BUF_ERROR && stream.pointee.avail_out > 0 {
                    throw SPDYError.compression("inflate made no progress")
                }
            case Z_STREAM_END:
                throw SPDYError.compression("peer ended the header compression stream")
            default:
                throw SPDYError.compression("corrupt header block (inflate \(rc))")
            }
        }
    }
}
