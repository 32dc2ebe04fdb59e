/// Encodes control frames. Owns the connection's outbound header compressor, so use ONE encoder per
/// connection direction and send every frame it produces, in order.
public final class SPDYFrameEncoder {
    public let compressor: SPDYHeaderCompressor
    private let maxHeaderBlockSize: Int
    private var rawBlock: [UInt8] = []

    /// `maxHeaderBlockSize` bounds the uncompressed block we agree to send (checked before compressing).
    public init(maxHeaderBlockSize: Int = 256 * 1024, compressionMemLevel: Int32 = 2) {
        // Far below the 24-bit frame length even if deflate expands the block.
        self.maxHeaderBlockSize = min(max(maxHeaderBlockSize, 16), 8 * 1024 * 1024)
        compressor = SPDYHeaderCompressor(memLevel: compressionMemLevel)
    }

    public func encode(_ frame: SPDYControlFrame) throws -> [UInt8] {
        var out: [UInt8] = []
        try encode(frame, into: &out)
        return out
    }

    /// Appends the encoded frame to `buffer`. Throws (appending nothing, compressing nothing) on invalid input.
    public func encode(_ frame: SPDYControlFrame, into buffer: inout [UInt8]) throws {
        switch frame {
        case let .synStream(id, assoc, priority, slot, fin, unidirectional, headers):
            try checkStreamID(id)
            var flags: UInt8 = fin ? SPDYWire.flagFin : 0
            if unidirectional { flags |= SPDYWire.flagUnidirectional }
            try appendHeaderFrame(.synStream, flags: flags, headers: headers, into: &buffer) { b in
                b.appendBE32(id)
                b.appendBE32(assoc & SPDYWire.maxStreamID)
                b.append((priority & 0x07) << 5)
                b.append(slot)
            }
        case let .synReply(id, fin, headers):
            try checkStreamID(id)
            try appendHeaderFrame(.synReply, flags: fin ? SPDYWire.flagFin : 0, headers: headers, into: &buffer) {
                $0.appendBE32(id)
            }
        case let .headers(id, fin, headers):
            try checkStreamID(id)
            try appendHeaderFrame(.headers, flags: fin ? SPDYWire.flagFin : 0, headers: headers, into: &buffer) {
                $0.appendBE32(id)
            }
        case let .rstStream(id, status):
            try checkStreamID(id)
            // spdystream's reader dies on status 0.
            guard status.rawValue != 0 else { throw SPDYError.invalidArgument("RST_STREAM status 0") }
            Self.appendControlHeader(.rstStream, flags: 0, length: 8, into: &buffer)
            buffer.appendBE32(id)
            buffer.appendBE32(status.rawValue)
        case let .settings(clear, settings):
            guard settings.count <= (SPDYWire.maxFrameLength - 4) / 8 else {
                throw SPDYError.invalidArgument("too many settings")
            }
            Self.appendControlHeader(.settings, flags: clear ? SPDYWire.flagSettingsClear : 0,
                                     length: 4 + 8 * settings.count, into: &buffer)
            buffer.appendBE32(UInt32(settings.count))
            for s in settings {
                buffer.appendBE32(UInt32(s.flags) << 24 | s.id & 0x00ff_ffff)
                buffer.appendBE32(s.value)
            }
        case let .ping(id):
            guard id != 0 else { throw SPDYError.invalidArgument("PING id 0") }
            Self.appendControlHeader(.ping, flags: 0, length: 4, into: &buffer)
            buffer.appendBE32(id)
        case let .goAway(last, status):
            guard last <= SPDYWire.maxStreamID else { throw SPDYError.invalidArgument("stream id \(last)") }
            Self.appendControlHeader(.goAway, flags: 0, length: 8, into: &buffer)
            buffer.appendBE32(last)
            buffer.appendBE32(status.rawValue)
        case let .windowUpdate(id, delta):
            guard id <= SPDYWire.maxStreamID else { throw SPDYError.invalidArgument("stream id \(id)") }
            guard delta >= 1 && delta <= 0x7fff_ffff else { throw SPDYError.invalidArgument("window delta \(delta)") }
            Self.appendControlHeader(.windowUpdate, flags: 0, length: 8, into: &buffer)
            buffer.appendBE32(id)
            buffer.appendBE32(delta)
        }
    }

    public static func dataHeader(streamID: UInt32, length: Int, fin: Bool) -> SPDYDataFrameHeader {
        SPDYDataFrameHeader(streamID: streamID, length: length, fin: fin)
    }

    static func appendControlHeader(_ type: SPDYControlType, flags: UInt8, length: Int, into b: inout [UInt8]) {
        b.appendBE16(0x8000 | SPDYWire.version)
        b.appendBE16(type.rawValue)
        b.appendBE32(UInt32(flags) << 24 | UInt32(length) & 0x00ff_ffff)
    }

    private func checkStreamID(_ id: UInt32) throws {
        // spdystream's reader treats stream 0 as fatal.
        guard id != 0 && id <= SPDYWire.maxStreamID else { throw SPDYError.invalidArgument("stream id \(id)") }
    }

    private func appendHeaderFrame(_ type: SPDYControlType, flags: UInt8, headers: SPDYHeaders,
                                   into buffer: inout [UInt8], fixed: (inout [UInt8]) -> Void) throws
    {
        // Validate and serialize first: once the compressor has seen a block, the frame must go out.
        try SPDYHeaderBlock.serialize(headers, into: &rawBlock, maxSize: maxHeaderBlockSize)
        let start = buffer.count
        Self.appendControlHeader(type, flags: flags, length: 0, into: &buffer)
        fixed(&buffer)
        do {
            try compressor.compress(rawBlock, appendingTo: &buffer)
        } catch {
            buffer.removeSubrange(start...)
            throw error
        }
        let length = buffer.count - start - SPDYWire.frameHeaderSize
        buffer.setBE32(UInt32(flags) << 24 | UInt32(length), at: start + 4)
        if rawBlock.capacity > 64 * 1024 { rawBlock = [] }
    }
}
