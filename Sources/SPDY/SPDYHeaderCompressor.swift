import CZlib

/// The outbound half of SPDY/3 header compression: ONE deflate stream for the whole connection, primed with the
/// SPDY/3 dictionary, each block closed with Z_SYNC_FLUSH (so each ends 00 00 ff ff and the first starts
/// 78 f9 e3 c6 a7 c2). A block compressed here MUST be sent, or the peer's inflater falls out of step.
public final class SPDYHeaderCompressor {
    // Heap-allocated: zlib keeps a pointer back to its z_stream, which a Swift var could move.
    private let stream: UnsafeMutablePointer<z_stream>
    private let memLevel: Int32
    private var initialized = false

    public init(memLevel: Int32 = 8) {
        self.memLevel = min(max(memLevel, 1), 9)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialized { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    private func start() throws {
        // Level 9 with a 32 KiB window is what the first-block prefix 78 f9 announces (Go's spdy uses BestCompression).
        var rc = eb_deflate_init2(stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15, memLevel, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else { throw SPDYError.compression("deflateInit2 failed (\(rc))") }
        initialized = true
        rc = spdy3HeaderDictionary.withUnsafeBufferPointer {
            deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
        }
        guard rc == Z_OK else { throw SPDYError.compression("deflateSetDictionary failed (\(rc))") }
    }

    /// Compresses one uncompressed header block and appends the result, sync-flushed, to `output`.
    public func compress(_ raw: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws {
        if !initialized { try start() }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: raw.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(raw.count)
        var room = raw.count / 2 + 64
        while true {
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: room))
            let rc = output.withUnsafeMutableBytes { buf -> Int32 in
                stream.pointee.next_out = (buf.baseAddress! + start).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = UInt32(room)
                return deflate(stream, Z_SYNC_FLUSH)
            }
            let unused = Int(stream.pointee.avail_out)
            output.removeLast(unused)
            stream.pointee.next_out = nil
            guard rc == Z_OK || rc == Z_BUF_ERROR else {
                stream.pointee.next_in = nil
                throw SPDYError.compression("deflate failed (\(rc))")
            }
            // A full output buffer may hide pending output; anything else means the flush completed.
            if unused > 0 { break }
            room = max(room, 256)
        }
        stream.pointee.next_in = nil
    }

    public func compress(_ raw: [UInt8], appendingTo output: inout [UInt8]) throws {
        try raw.withUnsafeBytes { try compress($0, appendingTo: &output) }
    }
}
