import SPDY

/// SPDY/3.1 frames of one direction as records, with its own decoder (and so its own header
/// decompressor, which sees the same blocks in the same order as the session's).
final class SPDYTraceDecoder: FrameTraceDecoder, SPDYFrameDecoderDelegate {
    private let direction: TraceRecord.Direction
    private let decoder = SPDYFrameDecoder()
    private var emit: ((TraceRecord) -> Void)?
    private var dataStream: UInt32 = 0
    private var dataLength = 0
    private var dataFin = false
    private var dataPrefix: [UInt8] = []

    init(direction: TraceRecord.Direction) {
        self.direction = direction
    }

    func decode(_ bytes: UnsafeRawBufferPointer, _ emit: (TraceRecord) -> Void) {
        withoutActuallyEscaping(emit) { emit in
            self.emit = emit
            decoder.decode(bytes, delegate: self)
            self.emit = nil
        }
    }

    private func record(_ type: String, _ fields: [TraceRecord.Field]) {
        emit?(TraceRecord(direction, "spdy", type, fields))
    }

    static func flags(fin: Bool, unidirectional: Bool = false) -> String {
        var names: [String] = []
        if fin { names.append("FIN") }
        if unidirectional { names.append("UNIDIRECTIONAL") }
        return names.isEmpty ? "-" : names.joined(separator: "|")
    }

    static func headerFields(_ headers: SPDYHeaders) -> [TraceRecord.Field] {
        headers.map { TraceRecord.Field("h:" + $0.name, SecretHeaders.value(name: $0.name, value: $0.value)) }
    }

    // MARK: SPDYFrameDecoderDelegate

    func frameDecoder(_ decoder: SPDYFrameDecoder, didDecode frame: SPDYControlFrame) {
        typealias F = TraceRecord.Field
        switch frame {
        case let .synStream(id, associated, priority, _, fin, unidirectional, headers):
            var fields = [F("stream", String(id)), F("flags", Self.flags(fin: fin, unidirectional: unidirectional))]
            if associated != 0 { fields.append(F("assoc", String(associated))) }
            fields.append(F("pri", String(priority)))
            record("SYN_STREAM", fields + Self.headerFields(headers))
        case let .synReply(id, fin, headers):
            record("SYN_REPLY", [F("stream", String(id)), F("flags", Self.flags(fin: fin))] + Self.headerFields(headers))
        case let .headers(id, fin, headers):
            record("HEADERS", [F("stream", String(id)), F("flags", Self.flags(fin: fin))] + Self.headerFields(headers))
        case let .rstStream(id, status):
            record("RST_STREAM", [F("stream", String(id)), F("status", status.description)])
        case let .settings(clear, settings):
            record("SETTINGS", [F("flags", clear ? "CLEAR" : "-")] + settings.map { F("s:\($0.id)", String($0.value)) })
        case let .ping(id):
            record("PING", [F("id", String(id))])
        case let .goAway(last, status):
            record("GOAWAY", [F("last", String(last)), F("status", status.description)])
        case let .windowUpdate(id, delta):
            record("WINDOW_UPDATE", [F("stream", String(id)), F("delta", String(delta))])
        }
    }

    func frameDecoder(_ decoder: SPDYFrameDecoder, didReceiveMalformedHeaders type: SPDYControlType,
                      streamID: UInt32, flags: UInt8, error: SPDYError) {
        record("MALFORMED", [.init("stream", String(streamID)), .init("error", "\(error)")])
    }

    func frameDecoder(_ decoder: SPDYFrameDecoder, didBeginData streamID: UInt32, length: Int, fin: Bool) {
        dataStream = streamID
        dataLength = length
        dataFin = fin
        dataPrefix.removeAll(keepingCapacity: true)
    }

    func frameDecoder(_ decoder: SPDYFrameDecoder, didReceiveData chunk: UnsafeRawBufferPointer, streamID: UInt32) {
        let room = TraceRecord.fullPayloadLimit - dataPrefix.count
        if room > 0 { dataPrefix.append(contentsOf: chunk.prefix(room)) }
    }

    func frameDecoder(_ decoder: SPDYFrameDecoder, didEndData streamID: UInt32, fin: Bool) {
        record("DATA", [.init("stream", String(streamID)), .init("flags", Self.flags(fin: fin))]
            + TraceRecord.payloadFields(dataPrefix, length: dataLength))
    }

    func frameDecoder(_ decoder: SPDYFrameDecoder, didSkipOversizedData streamID: UInt32, length: Int, fin: Bool) {
        record("DATA", [.init("stream", String(streamID)), .init("flags", Self.flags(fin: fin)),
                        .init("len", String(length)), .init("note", "oversized")])
    }

    func frameDecoder(_ decoder: SPDYFrameDecoder, didFail error: SPDYError, streamID: UInt32) {
        record("ERROR", [.init("error", "\(error)")])
    }
}
