@testable import ExecBridge
import Foundation
import ExecModel
import Glibc
import Reactor
import SPDY
import WebSocket

/// A kubelet-shaped SPDY port-forward server on the test's loop, built from the repo's SPDY codec:
/// answers the upgrade, replies to every stream, records each stream's headers, echoes the data
/// stream of an allowed port (FIN answered with FIN, then the error stream's FIN) and, for any
/// other port, writes kubelet's error text on the error stream and ends both. `webSocket`: the
/// same inside a WebSocket (`SPDY/3.1+portforward.k8s.io`), as kube-apiserver's tunnel serves it.
final class FakeSPDYPortForwardServer: ConnectionHandler, SPDYSessionDelegate, WebSocketConnectionDelegate {
    let listener: Listener
    var port: UInt16 { listener.address.port }
    /// Headers of every SYN_STREAM, in arrival order.
    private(set) var opened: [SPDYHeaders] = []
    private(set) var upgradeRequest = ""
    /// Error streams whose FIN (the client's side closed) arrived.
    private(set) var errorStreamsClosedByClient = 0
    private let allowed: Set<UInt16>
    private var connection: Connection?
    private var session: SPDYSession?
    private var head: [UInt8] = []
    /// requestID → (error stream, data stream).
    private var pairs: [String: (error: UInt32?, data: UInt32?)] = [:]
    private var streamPort: [UInt32: UInt16] = [:]
    private var streamRequest: [UInt32: String] = [:]

    private let webSocket: Bool
    private var ws: WebSocketConnection?

    init(loop: EventLoop, allowedPorts: Set<UInt16>, webSocket: Bool = false) throws {
        allowed = allowedPorts
        self.webSocket = webSocket
        var accept: ((Int32) -> Void)?
        listener = try Listener(loop: loop, address: SocketAddress(host: "127.0.0.1", port: 0)) { fd, _ in accept?(fd) }
        accept = { [unowned self] fd in
            let connection = Connection(loop: loop, fd: fd)
            connection.handler = self
            self.connection = connection
        }
    }

    func connectionDidRead(_ connection: Connection) {
        connection.consumeInput { chunk in
            if let session {
                if let ws { ws.receive(chunk) } else { session.receive(chunk) }
                return chunk.count
            }
            head.append(contentsOf: chunk)
            if let end = head.firstRange(of: Array("\r\n\r\n".utf8)) {
                upgradeRequest = String(decoding: head[..<end.lowerBound], as: UTF8.self)
                if webSocket {
                    let key = upgradeRequest.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                        .map { String($0.dropFirst("sec-websocket-key:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
                    var answer = "HTTP/1.1 101 Switching Protocols\r\n"
                    for line in WebSocketHandshake.responseHeaders(acceptValue: WebSocketHandshake.acceptValue(forKey: key),
                                                                   protocol: "SPDY/3.1+portforward.k8s.io") {
                        answer += "\(line.name): \(line.value)\r\n"
                    }
                    connection.write(answer + "\r\n")
                    let ws = WebSocketConnection(role: .server)
                    ws.delegate = self
                    self.ws = ws
                } else {
                    connection.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
                                     "X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n")
                }
                let session = SPDYSession(role: .server, delegate: self)
                self.session = session
                let rest = Array(head[end.upperBound...])
                head = []
                if !rest.isEmpty { rest.withUnsafeBytes { ws?.receive($0) ?? session.receive($0) } }
            }
            return chunk.count
        }
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        self.connection = nil
    }

    func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) {
        if let ws { _ = ws.sendBinary(bytes) } else { connection?.write(bytes) }
    }

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) { self.connection?.write(bytes) }
    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) { session?.receive(bytes) }
    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {}
    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {}
    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {}

    func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        opened.append(headers)
        try? s.reply(to: id)
        let request = headers["requestid"] ?? ""
        let port = UInt16(headers["port"] ?? "") ?? 0
        streamPort[id] = port
        streamRequest[id] = request
        var pair = pairs[request] ?? (nil, nil)
        if headers["streamtype"] == "error" { pair.error = id } else { pair.data = id }
        pairs[request] = pair
        if fin, headers["streamtype"] == "error" { errorStreamsClosedByClient += 1 }
        if let error = pair.error, let data = pair.data, !allowed.contains(port) {
            let text = "error forwarding port \(port) to pod ns/pod, uid : dial tcp4 127.0.0.1:\(port): connect: connection refused"
            _ = try? s.sendData(Array(text.utf8), on: error)
            try? s.finish(error)
            try? s.finish(data)
        }
    }

    func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}

    func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        guard let port = streamPort[id], allowed.contains(port), pairs[streamRequest[id] ?? ""]?.data == id else { return }
        _ = try? s.sendData(bytes, on: id)
    }

    func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) {
        guard let request = streamRequest[id], let pair = pairs[request] else { return }
        if pair.error == id {
            errorStreamsClosedByClient += 1
            return
        }
        guard let port = streamPort[id], allowed.contains(port) else { return }
        // The pod's side answered everything: both streams end, the error stream empty.
        try? s.finish(id)
        if let error = pair.error { try? s.finish(error) }
    }

    func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {}
    func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    func spdySession(_ s: SPDYSession, didFail error: SPDYError) {}
}
