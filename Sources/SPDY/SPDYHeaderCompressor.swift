import CZlib
import Glibc

/// The outbound half of SPDY/3 header compression: ONE deflate stream for the whole connection, primed with the
/// SPDY/3 dictionary, each block closed with Z_SYNC_FLUSH (so each ends 00 00 ff ff and the first starts
/// 78 f9 e3 c6 a7 c2). A block compressed here MUST be sent, or the peer's inflater falls out of step.
///
/// Memory: zlib's defaults (32 KiB window, memLevel 8) cost 256 KiB per connection, 64 KiB of it touched at
/// once, for header blocks of a few hundred bytes. This one deflates raw with a 2 KiB window (the smallest that
/// holds the whole 1423-byte dictionary) and a small hash, about 15 KiB, and writes the zlib header itself: the
/// header that every SPDY/3 peer sends (78 = "up to 32 KiB"), which stays true since no match reaches further
/// back than 2 KiB, and any inflater — with the 32 KiB window RFC 1950 lets it assume — decodes the stream.
public final class SPDYHeaderCompressor {
    // Heap-allocated: zlib keeps a pointer back to its z_stream, which a Swift var could move.
    private let stream: UnsafeMutablePointer<z_stream>
    private let memLevel: Int32
    private let windowBits: Int32
    private var initialized = false
    private var wroteZlibHeader = false
    /// Bytes zlib holds for this stream (its allocations, counted as they are made).
    private let allocated: UnsafeMutablePointer<Int>

    /// `memLevel` 1...9 sizes the hash and the pending buffer; `windowBits` 11...15 the window (smaller ones
    /// could not hold the dictionary).
    public init(memLevel: Int32 = 2, windowBits: Int32 = 11) {
        self.memLevel = min(max(memLevel, 1), 9)
        self.windowBits = min(max(windowBits, 11), 15)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        allocated = .allocate(capacity: 1)
        allocated.initialize(to: 0)
        stream.pointee.opaque = UnsafeMutableRawPointer(allocated)
        stream.pointee.zalloc = { opaque, items, size in
            let bytes = Int(items) * Int(size)
            // A size word in front of each block so that zfree can subtract it.
            guard let block = malloc(bytes + 16) else { return nil }
            block.storeBytes(of: bytes, as: Int.self)
            opaque?.assumingMemoryBound(to: Int.self).pointee += bytes
            return block + 16
        }
        stream.pointee.zfree = { opaque, address in
            guard let address else { return }
            let block = address - 16
            opaque?.assumingMemoryBound(to: Int.self).pointee -= block.load(as: Int.self)
            free(block)
        }
    }

    deinit {
        if initialized { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        allocated.deallocate()
    }

    /// What zlib has allocated for this compressor (0 before the first block).
    public var allocatedBytes: Int { allocated.pointee }

    private func start() throws {
        // Level 9 is what the header's 78 f9 announces (Go's spdy uses BestCompression). Negative bits: raw deflate.
        var rc = eb_deflate_init2(stream, Z_BEST_COMPRESSION, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else { throw SPDYError.compression("deflateInit2 failed (\(rc))") }
        initialized = true
        rc = spdy3HeaderDictionary.withUnsafeBufferPointer {
            deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
        }
        guard rc == Z_OK else { throw SPDYError.compression("deflateSetDictionary failed (\(rc))") }
    }

    /// RFC 1950 header: CMF 78 (deflate, 32 KiB), FLG f9 (level 3, FDICT), then the dictionary's Adler-32.
    private static let zlibHeader: [UInt8] = {
        let adler = spdy3HeaderDictionary.withUnsafeBufferPointer {
            UInt32(truncatingIfNeeded: adler32(adler32(0, nil, 0), $0.baseAddress, UInt32($0.count)))
        }
        return [0x78, 0xf9, UInt8(adler >> 24), UInt8(adler >> 16 & 0xff), UInt8(adler >> 8 & 0xff), UInt8(adler & 0xff)]
    }()

    /// Compresses one uncompressed header block and appends the result, sync-flushed, to `output`.
    public func compress(_ raw: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws {
        if !initialized { try start() }
        let first = !wroteZlibHeader
        if first { output.append(contentsOf: Self.zlibHeader) }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: raw.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(raw.count)
        defer { stream.pointee.next_in = nil }
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
            guard rc == Z_OK || rc == Z_BUF_ERROR else { throw SPDYError.compression("deflate failed (\(rc))") }
            // A full output buffer may hide pending output; anything else means the flush completed.
            if unused > 0 { break }
            room = max(room, 256)
        }
        if first { wroteZlibHeader = true }
    }

    public func compress(_ raw: [UInt8], appendingTo output: inout [UInt8]) throws {
        try raw.withUnsafeBytes { try compress($0, appendingTo: &output) }
    }
}
