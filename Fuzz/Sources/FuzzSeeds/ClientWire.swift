@testable import ExecBridge
import HTTP2
import SPDY
import WebSocket

/// Collects what a client-role codec writes: the bytes a real client would send.
final class Wire: SPDYSessionDelegate, HTTP2SessionDelegate, WebSocketConnectionDelegate {
    var bytes: [UInt8] = []

    func spdySession(_ session: SPDYSession, write bytes: UnsafeRawBufferPointer) { self.bytes += bytes }
    func spdySession(_ session: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {}
    func spdySession(_ session: SPDYSession, didReceiveFin id: UInt32) {}
    func spdySession(_ session: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    func spdySession(_ session: SPDYSession, didFail error: SPDYError) {}

    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer) { self.bytes += bytes }
    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {}
    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {}

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) { self.bytes += bytes }
    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {}
    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {}
    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {}
}

/// An HTTP/1.1 request head from an UPGRADE record (or given parts).
func requestHead(method: String, target: String, headers: [(name: String, value: String)]) -> [UInt8] {
    var text = "\(method) \(target) HTTP/1.1\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    return Array((text + "\r\n").utf8)
}

/// The client side of one recorded connection, re-encoded by the repository's own client codecs.
struct ReplayedConnection {
    var head: [UInt8] = []
    /// Frames after the head (SPDY, or HTTP/2 without the 24-byte preface).
    var frames: [UInt8] = []
    var generation: String = ""
}

func replay(_ records: [TraceRecord]) throws -> ReplayedConnection {
    var out = ReplayedConnection()
    let wire = Wire()
    var spdy: SPDYSession?
    var h2: HTTP2Session?
    for record in records where record.direction == .toServer {
        out.generation = record.generation
        let flags = record["flags"] ?? ""
        switch (record.generation, record.type) {
        case (_, "UPGRADE"):
            out.head = requestHead(method: record["method"] ?? "POST", target: record["target"] ?? "/",
                                   headers: record.headers)
            if record.generation == "spdy" {
                spdy = SPDYSession(role: .client, delegate: wire)
            } else {
                let session = HTTP2Session(role: .client, delegate: wire)
                try session.clientUpgraded()
                h2 = session
            }
        case ("spdy", "SYN_STREAM"):
            if spdy == nil { spdy = SPDYSession(role: .client, delegate: wire) }
            _ = try spdy?.openStream(headers: SPDYHeaders(record.headers.map { ($0.name, $0.value) }),
                                     fin: flags.contains("FIN"))
        case ("spdy", "DATA"):
            let id = UInt32(record["stream"] ?? "") ?? 1
            wire.bytes += spdyData(id, record.bytes("data") ?? record.bytes("head") ?? [], fin: flags.contains("FIN"))
        case ("h2", "PREFACE"):
            if h2 == nil {
                let session = HTTP2Session(role: .client, delegate: wire)
                try session.start()
                h2 = session
            }
        case ("h2", "HEADERS"):
            let headers = record.headers.map { HTTP2Header($0.name, $0.value) }
            _ = try h2?.submitRequest(headers: headers, hasBody: !flags.contains("END_STREAM"))
        case ("h2", "DATA"):
            let id = Int32(record["stream"] ?? "") ?? 1
            _ = try h2?.sendData(record.bytes("data") ?? record.bytes("head") ?? [], stream: id)
            if flags.contains("END_STREAM") { try h2?.endStream(id) }
        case ("h2", "GOAWAY"):
            h2?.shutdownGracefully()
        default:
            break
        }
        h2?.flush()
    }
    out.frames = wire.bytes
    let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    if out.frames.starts(with: preface) { out.frames.removeFirst(preface.count) }
    return out
}

/// A SPDY/3 DATA frame, written by hand: the client session will not send DATA before the
/// server's SYN_REPLY, which a replay without a server never gets.
func spdyData(_ id: UInt32, _ payload: [UInt8], fin: Bool) -> [UInt8] {
    let length = UInt32(payload.count)
    return [UInt8(id >> 24 & 0x7f), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff),
            fin ? 1 : 0, UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + payload
}
