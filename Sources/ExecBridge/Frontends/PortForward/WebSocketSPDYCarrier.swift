import Reactor
import WebSocket

/// kubectl 1.31+'s WebSocket tunnel (`SPDY/3.1+portforward.k8s.io`): the SPDY/3.1 byte stream
/// carried in WebSocket binary messages (client-go `tunneling_connection.go`, apimachinery
/// `wsstream`), under the same `SPDYPortForwardSession` as a plain SPDY upgrade. Message
/// boundaries mean nothing: each message's bytes go on as they arrive, each write is one message.
final class WebSocketSPDYCarrier: ByteCarrier, CarrierListener, WebSocketConnectionDelegate {
    private let below: ByteCarrier
    /// The SPDY session above; strong until the pipe closes.
    var listener: CarrierListener?
    private let ws = WebSocketConnection(role: .server)
    private var closing = false

    init(below: ByteCarrier) {
        self.below = below
        ws.delegate = self
    }

    // MARK: ByteCarrier (toward the SPDY session)

    var loop: EventLoop { below.loop }

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard !closing else { return }
        _ = ws.sendBinary(bytes)
    }

    var pendingBytes: Int { below.pendingBytes }

    func setReading(_ on: Bool) { below.setReading(on) }

    func finish(linger: Double) {
        guard !closing else { return }
        closing = true
        ws.close(code: .normalClosure)
        below.finish(linger: linger)
    }

    func abort() { below.abort() }

    // MARK: CarrierListener (from the socket)

    func carrierReceived(_ bytes: UnsafeRawBufferPointer) { ws.receive(bytes) }

    func carrierDrained() { listener?.carrierDrained() }

    func carrierClosed() {
        let listener = self.listener
        self.listener = nil
        listener?.carrierClosed()
    }

    func drain() { listener?.drain() }

    // MARK: WebSocketConnectionDelegate

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        below.write(bytes)
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {}

    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        guard !closing else { return }
        listener?.carrierReceived(bytes)
    }

    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {}

    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        // The client is leaving: the socket's close ends every tunnel.
        closing = true
        below.finish(linger: 1)
    }

    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        closing = true
        below.finish(linger: 1)
    }
}
