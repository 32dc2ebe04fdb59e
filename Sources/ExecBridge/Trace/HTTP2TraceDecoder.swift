import CNghttp2

/// HTTP/2 frames of one direction as records: its own frame parser and HPACK inflater (nghttp2's),
/// fed the same bytes as the session. Header blocks split over CONTINUATION frames become one
/// HEADERS record; padding and priority fields are left out.
final class HTTP2TraceDecoder: FrameTraceDecoder {
    /// Frames larger than this (other than DATA, which is never buffered) are skipped with a note.
    static let maxBufferedFrame = 256 * 1024
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let direction: TraceRecord.Direction
    private var prefaceLeft: Int
    private var header: [UInt8] = []
    private var body: [UInt8] = []
    private var bodyLeft = 0
    private var frame: (length: Int, type: UInt8, flags: UInt8, stream: UInt32)?
    private var headerBlock: [UInt8] = []
    private var headerFrame: (flags: UInt8, stream: UInt32)?
    private var inflater: OpaquePointer?
    private var failed = false

    init(direction: TraceRecord.Direction, expectPreface: Bool) {
        self.direction = direction
        self.prefaceLeft = expectPreface ? Self.preface.count : 0
        var pointer: OpaquePointer?
        if nghttp2_hd_inflate_new(&pointer) == 0 {
            inflater = pointer
            // Accept whatever table size the peer's encoder announces (it is bounded by the other side's SETTINGS).
            nghttp2_hd_inflate_change_table_size(pointer, 1 << 16)
        }
    }

    deinit {
        if let inflater { nghttp2_hd_inflate_del(inflater) }
    }

    private var prefaceAnnounced = false

    /// Records the client's preface now, before its bytes are seen (they are still checked then).
    func announcePreface(_ emit: (TraceRecord) -> Void) {
        guard !prefaceAnnounced, prefaceLeft == Self.preface.count else { return }
        prefaceAnnounced = true
        emit(record("PREFACE", []))
    }

    func decode(_ bytes: UnsafeRawBufferPointer, _ emit: (TraceRecord) -> Void) {
        guard !failed else { return }
        var p = 0
        if prefaceLeft > 0 {
            let take = min(prefaceLeft, bytes.count)
            let offset = Self.preface.count - prefaceLeft
            guard bytes[0..<take].elementsEqual(Self.preface[offset..<offset + take]) else {
                failed = true
                return emit(record("ERROR", [.init("error", "no HTTP/2 connection preface")]))
            }
            prefaceLeft -= take
            p = take
            if prefaceLeft == 0 && !prefaceAnnounced { emit(record("PREFACE", [])) }
        }
        while p < bytes.count && !failed {
            guard let current = frame else {
                let take = min(9 - header.count, bytes.count - p)
                header.append(contentsOf: bytes[p..<p + take])
                p += take
                if header.count == 9 {
                    let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                    let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8
                                  | UInt32(header[8])) & 0x7fff_ffff
                    frame = (length, header[3], header[4], stream)
                    header.removeAll(keepingCapacity: true)
                    body.removeAll(keepingCapacity: true)
                    bodyLeft = length
                    if length == 0 { finishFrame(emit) }
                }
                continue
            }
            let take = min(bodyLeft, bytes.count - p)
            // DATA keeps only a prefix; oversized control frames keep nothing.
            let keep = current.type == 0 ? max(0, min(take, TraceRecord.fullPayloadLimit + 1 + 256 - body.count))
                : (current.length <= Self.maxBufferedFrame ? take : 0)
            body.append(contentsOf: bytes[p..<p + keep])
            p += take
            bodyLeft -= take
            if bodyLeft == 0 { finishFrame(emit) }
        }
    }

    private func record(_ type: String, _ fields: [TraceRecord.Field]) -> TraceRecord {
        TraceRecord(direction, "h2", type, fields)
    }

    private func finishFrame(_ emit: (TraceRecord) -> Void) {
        guard let (length, type, flags, stream) = frame else { return }
        frame = nil
        typealias F = TraceRecord.Field
        let name = HTTP2TraceNames.frameTypes[type] ?? "UNKNOWN_\(type)"
        let flagText = HTTP2TraceNames.flagNames(type: type, flags: flags)
        if type != 0 && length > Self.maxBufferedFrame {
            return emit(record(name, [F("stream", String(stream)), F("len", String(length)), F("note", "oversized")]))
        }
        switch type {
        case 0: // DATA
            var payload = body[...]
            var dataLength = length
            if flags & HTTP2TraceNames.padded != 0, let pad = payload.first {
                payload = payload.dropFirst()
                dataLength -= 1 + Int(pad)
            }
            emit(record(name, [F("stream", String(stream)), F("flags", flagText)]
                + TraceRecord.payloadFields(payload.prefix(max(0, dataLength)), length: max(0, dataLength))))
        case 1, 9: // HEADERS, CONTINUATION
            var fragment = body[...]
            if type == 1 {
                var pad = 0
                if flags & HTTP2TraceNames.padded != 0, let first = fragment.first {
                    pad = Int(first)
                    fragment = fragment.dropFirst()
                }
                if flags & HTTP2TraceNames.priority != 0 { fragment = fragment.dropFirst(5) }
                fragment = fragment.dropLast(min(pad, fragment.count))
                headerFrame = (flags, stream)
                headerBlock = Array(fragment)
            } else {
                headerBlock.append(contentsOf: fragment)
            }
            guard flags & HTTP2TraceNames.endHeaders != 0, let opened = headerFrame else { return }
            headerFrame = nil
            let fields = inflate(headerBlock)
            headerBlock = []
            let openedFlags = HTTP2TraceNames.flagNames(type: 1, flags: opened.flags | HTTP2TraceNames.endHeaders)
            emit(record("HEADERS", [F("stream", String(opened.stream)), F("flags", openedFlags)] + fields))
        case 3 where body.count == 4: // RST_STREAM
            emit(record(name, [F("stream", String(stream)), F("error", HTTP2TraceNames.errorName(be32(0)))]))
        case 4: // SETTINGS
            var fields = [F("flags", flagText)]
            var i = 0
            while i + 6 <= body.count {
                let id = UInt16(body[i]) << 8 | UInt16(body[i + 1])
                let value = UInt32(body[i + 2]) << 24 | UInt32(body[i + 3]) << 16 | UInt32(body[i + 4]) << 8 | UInt32(body[i + 5])
                fields.append(F(HTTP2TraceNames.settingName(id), String(value)))
                i += 6
            }
            emit(record(name, fields))
        case 6 where body.count == 8: // PING
            emit(record(name, [F("flags", flagText), F("opaque", body.map { hex($0) }.joined())]))
        case 7 where body.count >= 8: // GOAWAY
            var fields = [F("last", String(be32(0) & 0x7fff_ffff)), F("error", HTTP2TraceNames.errorName(be32(4)))]
            if body.count > 8 { fields.append(F("debug", Array(body[8...]))) }
            emit(record(name, fields))
        case 8 where body.count == 4: // WINDOW_UPDATE
            emit(record(name, [F("stream", String(stream)), F("increment", String(be32(0) & 0x7fff_ffff))]))
        default:
            emit(record(name, [F("stream", String(stream)), F("flags", String(flags)), F("len", String(length))]))
        }
    }

    private func be32(_ offset: Int) -> UInt32 {
        UInt32(body[offset]) << 24 | UInt32(body[offset + 1]) << 16 | UInt32(body[offset + 2]) << 8 | UInt32(body[offset + 3])
    }

    private func hex(_ byte: UInt8) -> String {
        let text = String(byte, radix: 16)
        return text.count < 2 ? "0" + text : text
    }

    /// The header block as `h:name=value` fields, or one `error` field when it does not inflate
    /// (after which this direction's HPACK state is lost and decoding stops).
    private func inflate(_ block: [UInt8]) -> [TraceRecord.Field] {
        guard let inflater else { return [.init("error", "no HPACK inflater")] }
        guard !block.isEmpty else { return [] }
        var fields: [TraceRecord.Field] = []
        var ok = true
        block.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            var offset = 0
            while true {
                var nv = nghttp2_nv()
                var flags: Int32 = 0
                let n = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, base + offset, raw.count - offset, 1)
                if n < 0 {
                    ok = false
                    return
                }
                offset += n
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                    let name = Array(UnsafeBufferPointer(start: nv.name, count: nv.namelen))
                    let value = Array(UnsafeBufferPointer(start: nv.value, count: nv.valuelen))
                    let nameText = String(decoding: name, as: UTF8.self)
                    fields.append(.init("h:" + nameText, SecretHeaders.value(name: nameText, value: value)))
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                    nghttp2_hd_inflate_end_headers(inflater)
                    return
                }
                if n == 0 && flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) == 0 {
                    ok = false
                    return
                }
            }
        }
        if !ok {
            failed = true
            return [.init("error", "header block does not inflate")]
        }
        return fields
    }
}
