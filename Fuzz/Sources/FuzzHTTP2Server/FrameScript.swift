/// The structured mode of FuzzHTTP2Server: the input is a script of client actions (open an exec or
/// a health stream, reset, data, GOAWAY, PING, WINDOW_UPDATE, PRIORITY, SETTINGS, a write boundary),
/// encoded here into valid frames, so that the fuzzer explores orders of frames rather than their
/// syntax. This is the class of the RST_STREAM-then-HEADERS crash: sessions and frames arriving
/// around a connection's end.
enum FrameScript {
    static let path = "/api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true&stdout=true&stderr=true"
    static let streamTypes = ["error", "stdin", "stdout", "stderr", "resize"]

    /// The writes a client makes: frames, split where the script says.
    static func writes(_ script: UnsafeRawBufferPointer) -> [[UInt8]] {
        var writes: [[UInt8]] = []
        var current = frame(type: 4, flags: 0, stream: 0, payload: []) // SETTINGS
        var i = 0
        func next() -> UInt8 {
            defer { i += 1 }
            return i < script.count ? script[i] : 0
        }
        while i < script.count {
            let op = next()
            let stream = UInt32(next() & 0x0f) * 2 + 1
            switch op % 12 {
            case 0, 1: // exec HEADERS: single stream (no protocol header) or a channel stream
                let flags = next()
                var headers: [(String, String)] = [(":method", "POST"), (":scheme", "http"), (":authority", "gw"),
                                                   (":path", path)]
                if op % 12 == 1 {
                    headers.append(("x-stream-protocol-version", flags & 0x10 == 0 ? "v4.channel.k8s.io" : "v5.channel.k8s.io"))
                    headers.append(("streamtype", streamTypes[Int(flags >> 5) % streamTypes.count]))
                }
                current += frame(type: 1, flags: 0x4 | (flags & 1), stream: stream, payload: hpack(headers))
            case 2: // health check
                current += frame(type: 1, flags: 0x5, stream: stream,
                                 payload: hpack([(":method", "GET"), (":scheme", "http"), (":authority", "gw"),
                                                 (":path", "/healthz")]))
            case 3: // RST_STREAM
                current += frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, next() % 14])
            case 4: // DATA, maybe END_STREAM
                let flags = next()
                let length = Int(flags >> 3)
                current += frame(type: 0, flags: flags & 1, stream: stream,
                                 payload: Array(repeating: UInt8(ascii: "x"), count: length))
            case 5: // GOAWAY
                current += frame(type: 7, flags: 0, stream: 0, payload: be32(stream) + [0, 0, 0, next() % 14])
            case 6: // PING, or its ACK
                current += frame(type: 6, flags: next() & 1, stream: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8])
            case 7: // WINDOW_UPDATE on the stream or the connection
                let flags = next()
                current += frame(type: 8, flags: 0, stream: flags & 1 == 0 ? stream : 0,
                                 payload: be32(UInt32(flags >> 1) << 8 | 1))
            case 8: // PRIORITY
                current += frame(type: 2, flags: 0, stream: stream, payload: be32(UInt32(next() & 0x0f) * 2 + 1) + [16])
            case 9: // SETTINGS (initial window) or an ACK
                let flags = next()
                current += flags & 1 == 0
                    ? frame(type: 4, flags: 0, stream: 0, payload: [0, 4] + be32(UInt32(flags) << 8))
                    : frame(type: 4, flags: 1, stream: 0, payload: [])
            case 10: // end of one write: the gateway runs before the rest arrives
                writes.append(current)
                current = []
            default: // a raw byte, for what the script cannot say
                current.append(next())
            }
        }
        writes.append(current)
        return writes
    }

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
            + be32(stream & 0x7fff_ffff) + payload
    }

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// HPACK literal header fields without indexing, new names (RFC 7541 §6.2.2), lengths below 127.
    static func hpack(_ headers: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in headers {
            out.append(0)
            out.append(UInt8(name.utf8.count))
            out += name.utf8
            out.append(UInt8(min(value.utf8.count, 126)))
            out += value.utf8.prefix(126)
        }
        return out
    }
}
