import Foundation
import Glibc
import Reactor
import SPDY
import XCTest

/// kubectl's side of SPDY port-forward, blocking, for tests: the upgrade, stream pairs with
/// `port` and `requestID`, and what the gateway sends back per stream.
final class SPDYPortForwardClient: SPDYSessionDelegate {
    let socket: RawSocket
    private(set) var session: SPDYSession!
    private(set) var received: [UInt32: [UInt8]] = [:]
    private(set) var finished: Set<UInt32> = []
    private(set) var resets: Set<UInt32> = []
    private(set) var replied: Set<UInt32> = []

    struct Tunnel {
        var error: UInt32
        var data: UInt32
    }

    /// Upgrades `path` on the gateway at `port`; nil (and the answer) when it is not a 101.
    init(port: UInt16, path: String, protocols: [String] = ["portforward.k8s.io"],
         extraHeaders: String = "") throws {
        socket = try RawSocket(port: port)
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        for offer in protocols { head += "X-Stream-Protocol-Version: \(offer)\r\n" }
        socket.send(head + extraHeaders + "\r\n")
        answer = socket.readResponse()
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        session = SPDYSession(role: .client, delegate: self)
    }

    /// kubectl 1.31+: the same SPDY session inside WebSocket binary messages.
    init(tunnelOn port: UInt16, path: String, protocols: [String] = ["SPDY/3.1+portforward.k8s.io"]) throws {
        let ws = try TestWebSocketClient(port: port, path: path, protocols: protocols)
        webSocket = ws
        socket = ws.socket
        answer = ws.answer
        session = SPDYSession(role: .client, delegate: self)
        ws.onData = { [unowned self] bytes in session.receive(bytes) }
    }

    /// Set in the WebSocket tunnel form: SPDY bytes travel in its binary messages.
    private var webSocket: TestWebSocketClient?

    let answer: (status: Int, head: String, body: String)?

    /// Opens the error stream, then the data stream, of one forwarded connection.
    func open(port: UInt16, requestID: String) throws -> Tunnel {
        let error = try session.openStream(headers: ["streamtype": "error", "port": "\(port)", "requestid": requestID])
        let data = try session.openStream(headers: ["streamtype": "data", "port": "\(port)", "requestid": requestID])
        // As client-go does: data goes only after the stream's SYN_REPLY.
        pump(timeout: 10) { replied.contains(data) }
        return Tunnel(error: error, data: data)
    }

    /// Opens a stream and waits for its reply.
    func openReplied(_ headers: SPDYHeaders) throws -> UInt32 {
        let id = try session.openStream(headers: headers)
        pump(timeout: 10) { replied.contains(id) }
        return id
    }

    func send(_ bytes: [UInt8], on id: UInt32, fin: Bool = false) throws {
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + 16384)
            let last = end == bytes.count
            _ = try bytes[offset..<end].withUnsafeBytes { try session.sendData($0, on: id, fin: fin && last) }
            offset = end
            // Keep reading: the gateway's answers must not fill the socket while we write.
            pumpOnce(wait: false)
        } while offset < bytes.count
    }

    /// Reads and decodes what arrives until `done` or the deadline; false on timeout.
    @discardableResult
    func pump(timeout: Double = 20, until done: () -> Bool) -> Bool {
        let deadline = EventLoop.now() + timeout
        while !done() {
            if EventLoop.now() > deadline { return false }
            if !pumpOnce(wait: true) { return done() }
        }
        return true
    }

    /// One read; false when the gateway closed the connection.
    @discardableResult
    func pumpOnce(wait: Bool) -> Bool {
        if let webSocket {
            let open = webSocket.pumpOnce(wait: wait)
            if !open { closed = true }
            return open
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(socket.fd, &buffer, buffer.count, wait ? 0 : Int32(MSG_DONTWAIT))
        if n == 0 { closed = true; return false }
        if n > 0 {
            raw.append(contentsOf: buffer[0..<n])
            buffer[0..<n].withUnsafeBytes { session.receive($0) }
        }
        return true
    }

    /// Every byte the gateway sent after the 101 (SPDY form only).
    private(set) var raw: [UInt8] = []

    private(set) var closed = false

    func text(_ id: UInt32) -> String { String(decoding: received[id] ?? [], as: UTF8.self) }

    /// The tunnel ended: the gateway finished (or reset) its error stream.
    func ended(_ tunnel: Tunnel) -> Bool {
        finished.contains(tunnel.error) || resets.contains(tunnel.error)
    }

    // MARK: SPDYSessionDelegate

    func spdySession(_ session: SPDYSession, write bytes: UnsafeRawBufferPointer) {
        if let webSocket { webSocket.sendBinary(Array(bytes)) } else { socket.send(Array(bytes)) }
    }
    func spdySession(_ session: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {}
    func spdySession(_ session: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {
        replied.insert(id)
    }
    func spdySession(_ session: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        received[id, default: []].append(contentsOf: bytes)
    }
    func spdySession(_ session: SPDYSession, didReceiveFin id: UInt32) { finished.insert(id) }
    func spdySession(_ session: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {
        resets.insert(id)
    }
    func spdySession(_ session: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    func spdySession(_ session: SPDYSession, didReceiveSettings settings: [SPDYSetting]) {}
    func spdySession(_ session: SPDYSession, didFail error: SPDYError) { XCTFail("SPDY error from the gateway: \(error)") }
}
