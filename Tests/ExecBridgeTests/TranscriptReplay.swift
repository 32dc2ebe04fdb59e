import CNghttp2
@testable import ExecBridge
import Glibc
import HTTP1
import SPDY
import XCTest

/// Plays the client side of one transcript connection against a gateway, frame by frame, and
/// decodes what the gateway sends back into records of the same form (with the tracer's decoders).
/// Before each client frame it waits until the gateway has sent what it had sent at that point of
/// the recording (counted per stream, DATA in bytes), so that causality is kept but timing is not.
final class TranscriptReplay {
    private let connection: TranscriptFile.Connection
    private let fd: Int32
    private var received: [TraceRecord] = []
    private var responseParser: HTTPResponseParser?
    private var decoder: FrameTraceDecoder
    private let spdyEncoder = SPDYFrameEncoder()
    private var hpack: OpaquePointer?
    private var closed = false
    /// Bound on each wait for the gateway (not a timing assertion: a hung replay fails instead of hanging).
    private let waitLimit: Double = 20

    init(_ connection: TranscriptFile.Connection, port: UInt16) throws {
        self.connection = connection
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw TranscriptError("cannot connect to the gateway") }
        switch connection.generation {
        case .spdy: decoder = SPDYTraceDecoder(direction: .toClient)
        case .h2: decoder = HTTP2TraceDecoder(direction: .toClient, expectPreface: false)
        }
        nghttp2_hd_deflate_new(&hpack, 4096)
    }

    deinit {
        close(fd)
        if let hpack { nghttp2_hd_deflate_del(hpack) }
    }

    /// Replays every client record; returns the gateway's records.
    func run() throws -> [TraceRecord] {
        let records = connection.records
        for (index, record) in records.enumerated() where record.direction == .toServer {
            try waitFor(TranscriptNormalizer.progress(records[..<index]), before: record)
            try send(record)
        }
        try waitFor(TranscriptNormalizer.progress(records), before: nil)
        return received
    }

    // MARK: Waiting

    private func waitFor(_ wanted: [String: Int], before record: TraceRecord?) throws {
        let deadline = Date().addingTimeInterval(waitLimit)
        while true {
            let have = TranscriptNormalizer.progress(received)
            let missing = wanted.filter { have[$0.key, default: 0] < $0.value }
            if missing.isEmpty { return }
            if closed || Date() > deadline {
                throw TranscriptError("the gateway did not send \(missing.sorted { $0.key < $1.key }) (have \(have))"
                    + (record.map { " before \($0)" } ?? " by the end") + (closed ? "; it closed the connection" : ""))
            }
            pump(timeoutMs: 100)
        }
    }

    private func pump(timeoutMs: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else {
            closed = true
            return
        }
        var bytes = buffer[0..<n]
        if var parser = responseParser {
            switch bytes.withUnsafeBytes({ parser.feed($0) }) {
            case .needMore:
                responseParser = parser
                return
            case .failure(let error):
                received.append(TraceRecord(.toClient, connection.generation.rawValue, "ERROR", [.init("error", error.message)]))
                closed = true
                return
            case .head(let head, let consumed):
                responseParser = nil
                var fields = [TraceRecord.Field("status", String(head.status))]
                if connection.generation == .spdy, let version = head.headers[first: "x-stream-protocol-version"] {
                    fields.append(.init("h:x-stream-protocol-version", version))
                }
                received.append(TraceRecord(.toClient, connection.generation.rawValue, "RESPONSE", fields))
                bytes = bytes.dropFirst(consumed)
            }
        }
        bytes.withUnsafeBytes { raw in decoder.decode(raw) { received.append($0) } }
    }

    // MARK: Sending

    private func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    private func payload(_ record: TraceRecord) throws -> [UInt8] {
        if record["head"] != nil { throw TranscriptError("\(record.type) payload was recorded truncated; cannot replay") }
        return record.bytes("data") ?? []
    }

    private func number<T: FixedWidthInteger>(_ record: TraceRecord, _ key: String) throws -> T {
        guard let text = record[key], let value = T(text) else { throw TranscriptError("\(key) missing in \(record)") }
        return value
    }

    private func send(_ record: TraceRecord) throws {
        if record.type == "UPGRADE" { return sendUpgrade(record) }
        switch connection.generation {
        case .spdy: try sendSPDY(record)
        case .h2: try sendHTTP2(record)
        }
    }

    private func sendUpgrade(_ record: TraceRecord) {
        var head = "\(record["method"] ?? "POST") \(record["target"] ?? "/") HTTP/1.1\r\n"
        for (name, value) in record.headers where !SecretHeaders.names.contains(name) {
            head += "\(name): \(value)\r\n"
        }
        write(Array((head + "\r\n").utf8))
        responseParser = HTTPResponseParser()
    }

    private func sendSPDY(_ record: TraceRecord) throws {
        let flags = (record["flags"] ?? "-").split(separator: "|")
        let fin = flags.contains("FIN")
        var headers = SPDYHeaders()
        for (name, value) in record.headers { headers.add(name, value) }
        switch record.type {
        case "SYN_STREAM":
            write(try spdyEncoder.encode(.synStream(streamID: try number(record, "stream"),
                                                    associatedStreamID: UInt32(record["assoc"] ?? "0") ?? 0,
                                                    priority: UInt8(record["pri"] ?? "0") ?? 0, fin: fin,
                                                    unidirectional: flags.contains("UNIDIRECTIONAL"), headers: headers)))
        case "SYN_REPLY":
            write(try spdyEncoder.encode(.synReply(streamID: try number(record, "stream"), fin: fin, headers: headers)))
        case "HEADERS":
            write(try spdyEncoder.encode(.headers(streamID: try number(record, "stream"), fin: fin, headers: headers)))
        case "DATA":
            let bytes = try payload(record)
            write(SPDYFrameEncoder.dataHeader(streamID: try number(record, "stream"), length: bytes.count, fin: fin).bytes + bytes)
        case "RST_STREAM":
            let name = record["status"] ?? ""
            let status = (1...11).map { SPDYRstStatus(rawValue: $0) }.first { $0.description == name } ?? .cancel
            write(try spdyEncoder.encode(.rstStream(streamID: try number(record, "stream"), status: status)))
        case "GOAWAY":
            let status = record["status"] == "OK" ? SPDYGoAwayStatus.ok : .protocolError
            write(try spdyEncoder.encode(.goAway(lastGoodStreamID: try number(record, "last"), status: status)))
        case "PING":
            write(try spdyEncoder.encode(.ping(id: try number(record, "id"))))
        case "WINDOW_UPDATE":
            write(try spdyEncoder.encode(.windowUpdate(streamID: try number(record, "stream"), delta: try number(record, "delta"))))
        case "SETTINGS":
            let settings = record.fields.compactMap { field -> SPDYSetting? in
                guard field.key.hasPrefix("s:"), let id = UInt32(field.key.dropFirst(2)), let value = UInt32(field.text) else { return nil }
                return SPDYSetting(id: id, value: value)
            }
            write(try spdyEncoder.encode(.settings(clearPrevious: record["flags"] == "CLEAR", settings)))
        default:
            throw TranscriptError("cannot replay \(record)")
        }
    }

    private func h2Frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    private func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    private func sendHTTP2(_ record: TraceRecord) throws {
        let flags = HTTP2TraceNames.flags(record["flags"] ?? "-")
        let stream: UInt32 = UInt32(record["stream"] ?? "0") ?? 0
        switch record.type {
        case "PREFACE":
            write(HTTP2TraceDecoder.preface)
        case "SETTINGS":
            var body: [UInt8] = []
            for field in record.fields where field.key != "flags" {
                guard let id = HTTP2TraceNames.settingID(field.key), let value = UInt32(field.text) else { continue }
                body += [UInt8(id >> 8), UInt8(id & 0xff)] + be32(value)
            }
            write(h2Frame(type: 4, flags: flags, stream: 0, body))
        case "HEADERS":
            write(h2Frame(type: 1, flags: flags | HTTP2TraceNames.endHeaders, stream: stream, try deflate(record.headers)))
        case "DATA":
            write(h2Frame(type: 0, flags: flags, stream: stream, try payload(record)))
        case "WINDOW_UPDATE":
            write(h2Frame(type: 8, flags: 0, stream: stream, be32(try number(record, "increment"))))
        case "RST_STREAM":
            write(h2Frame(type: 3, flags: 0, stream: stream, be32(HTTP2TraceNames.errorCode(record["error"] ?? "") ?? 8)))
        case "GOAWAY":
            write(h2Frame(type: 7, flags: 0, stream: 0, be32(try number(record, "last"))
                + be32(HTTP2TraceNames.errorCode(record["error"] ?? "") ?? 0) + (record.bytes("debug") ?? [])))
        case "PING":
            let hex = Array((record["opaque"] ?? "0000000000000000").utf8)
            var opaque: [UInt8] = []
            var i = 0
            while i + 1 < hex.count {
                opaque.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0)
                i += 2
            }
            write(h2Frame(type: 6, flags: flags, stream: 0, opaque))
        case "PRIORITY":
            break
        default:
            throw TranscriptError("cannot replay \(record)")
        }
    }

    /// HPACK with nghttp2's deflater (one per connection, so the dynamic table follows the frames).
    private func deflate(_ headers: [(name: String, value: String)]) throws -> [UInt8] {
        var storage: [[UInt8]] = []
        for (name, value) in headers {
            storage.append(Array(name.utf8))
            storage.append(Array(value.utf8))
        }
        let pointers = storage.map { bytes -> UnsafeMutablePointer<UInt8> in
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
            p.initialize(from: bytes, count: bytes.count)
            return p
        }
        defer { pointers.forEach { $0.deallocate() } }
        var nvs: [nghttp2_nv] = []
        for index in 0..<headers.count {
            nvs.append(nghttp2_nv(name: pointers[2 * index], value: pointers[2 * index + 1],
                                  namelen: storage[2 * index].count, valuelen: storage[2 * index + 1].count,
                                  flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        }
        let bound = nghttp2_hd_deflate_bound(hpack, &nvs, nvs.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = nghttp2_hd_deflate_hd(hpack, &out, bound, &nvs, nvs.count)
        guard n >= 0 else { throw TranscriptError("HPACK deflate failed (\(n))") }
        return Array(out[0..<n])
    }
}
