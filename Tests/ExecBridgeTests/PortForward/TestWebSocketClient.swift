import Foundation
import Glibc
import WebSocket
import XCTest

/// A blocking WebSocket client on a raw loopback socket, for tests: the upgrade, binary messages
/// out, whole messages (or raw data, `onData`) in.
final class TestWebSocketClient: WebSocketConnectionDelegate {
    let socket: RawSocket
    let answer: (status: Int, head: String, body: String)?
    private(set) var ws: WebSocketConnection!
    private(set) var messages: [[UInt8]] = []
    private var current: [UInt8] = []
    private(set) var closeReceived = false
    private(set) var closed = false
    /// When set, message payload goes here as it arrives instead of into `messages`.
    var onData: ((UnsafeRawBufferPointer) -> Void)?

    init(port: UInt16, path: String, protocols: [String]) throws {
        socket = try RawSocket(port: port)
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        if !protocols.isEmpty { head += "Sec-WebSocket-Protocol: \(protocols.joined(separator: ", "))\r\n" }
        socket.send(head + "\r\n")
        answer = socket.readResponse()
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        ws = WebSocketConnection(role: .client)
        ws.delegate = self
        early = socket.takeBuffered()
    }

    /// Frames that came with the 101, fed on the first pump (the owner may still set `onData`).
    private var early: [UInt8] = []

    /// Whether the answer echoed `proto` as the subprotocol.
    func echoed(_ proto: String) -> Bool {
        answer?.head.lowercased().contains("sec-websocket-protocol: \(proto.lowercased())") == true
    }

    func sendBinary(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = ws.sendBinary($0) }
    }

    /// One read; false once the server closed the socket.
    @discardableResult
    func pumpOnce(wait: Bool) -> Bool {
        if !early.isEmpty {
            let bytes = early
            early = []
            bytes.withUnsafeBytes { ws.receive($0) }
            return true
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(socket.fd, &buffer, buffer.count, wait ? 0 : Int32(MSG_DONTWAIT))
        if n == 0 { closed = true; return false }
        if n > 0 { buffer[0..<n].withUnsafeBytes { ws.receive($0) } }
        return true
    }

    @discardableResult
    func pump(timeout: Double = 20, until done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !done() {
            if Date() > deadline { return false }
            if !pumpOnce(wait: true) { return done() }
        }
        return true
    }

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) { socket.send(Array(bytes)) }
    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) { current = [] }
    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        if let onData { onData(bytes) } else { current.append(contentsOf: bytes) }
    }
    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        if onData == nil { messages.append(current) }
        current = []
    }
    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        closeReceived = true
    }
    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        XCTFail("WebSocket error from the gateway: \(code) \(reason)")
    }
}

/// kubelet's WebSocket port-forward seen from the client: channel 2i data, 2i+1 error.
extension TestWebSocketClient {
    /// Payload received on `channel`, messages joined (base64 not decoded).
    func payload(_ channel: UInt8) -> [UInt8] {
        messages.filter { $0.first == channel }.flatMap { $0.dropFirst() }
    }

    func send(channel: UInt8, _ bytes: [UInt8]) {
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + 32 * 1024 - 1)
            sendBinary([channel] + bytes[offset..<end])
            offset = end
            pumpOnce(wait: false)
        } while offset < bytes.count
    }
}
