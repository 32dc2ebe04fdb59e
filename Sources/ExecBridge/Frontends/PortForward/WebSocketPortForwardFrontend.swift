import ExecModel
import Logging
import Reactor
import WebSocket

/// kubelet's WebSocket port-forward (`portforward/websocket.go`): the ports of `?ports=` are fixed
/// at the upgrade, the i-th one gets channel 2i (data, both ways) and 2i+1 (error, toward the
/// client), each opened by the port number in 2 little-endian bytes. One forwarded connection per
/// port for the life of the WebSocket; when every one ended the WebSocket closes (kubelet returns
/// from its handler then). The protocol has no half-close: a tunnel's input ends with the socket.
final class WebSocketPortForwardFrontend: CarrierListener, WebSocketConnectionDelegate {
    private let carrier: ByteCarrier
    private let starter: TunnelStarter
    private let ws = WebSocketConnection(role: .server)
    private let writer: ChannelMessageWriter
    private let reader: ChannelMessageReader
    private var tunnels: [WebSocketTunnel] = []
    private var pausing: Set<Int> = []
    private var closing = false
    private var closed = false
    private var lingerTimer: LoopTimer?

    private var config: BridgeConfig { starter.launcher.bridge }
    private var logger: Logger { starter.launcher.logger }

    init(carrier: ByteCarrier, starter: TunnelStarter, base64: Bool) {
        self.carrier = carrier
        self.starter = starter
        writer = ChannelMessageWriter(base64: base64)
        reader = ChannelMessageReader(base64: base64, closeSignal: false)
        ws.delegate = self
    }

    /// Right after the 101: the port prefixes, then a session per port.
    func start() {
        let ports = starter.request.ports
        tunnels = ports.indices.map { WebSocketTunnel(owner: self, index: $0, port: ports[$0]) }
        for tunnel in tunnels {
            let prefix = PortForwardPorts.webSocketPrefix(tunnel.port)
            prefix.withUnsafeBytes {
                send(channel: tunnel.dataChannel, $0)
                send(channel: tunnel.errorChannel, $0)
            }
        }
        for tunnel in tunnels where !tunnel.isDone {
            if let refusal = starter.start(port: tunnel.port, endpoint: tunnel, attach: { tunnel.bridge = $0 }) {
                tunnel.refuse(refusal)
            }
        }
    }

    // MARK: Toward the client

    func send(channel: UInt8, _ bytes: UnsafeRawBufferPointer) {
        guard !closing, !closed else { return }
        let ws = self.ws
        writer.write(channel: channel, bytes) { isText, head, body in
            if isText { ws.sendText(head, body) } else { ws.sendBinary(head, body) }
        }
    }

    var pendingBytes: Int { carrier.pendingBytes }

    func setReading(_ on: Bool, for tunnel: WebSocketTunnel) {
        if on { pausing.remove(tunnel.index) } else { pausing.insert(tunnel.index) }
        guard !closed else { return }
        carrier.setReading(pausing.isEmpty)
    }

    /// A tunnel ended: once all did, the WebSocket closes.
    func tunnelEnded(_ tunnel: WebSocketTunnel) {
        setReading(true, for: tunnel)
        guard !closing, !closed, tunnels.allSatisfy(\.isDone) else { return }
        closing = true
        ws.close(code: .normalClosure)
        carrier.setReading(true) // the client's close must be heard
        lingerTimer = LoopTimer(loop: carrier.loop, after: config.closeLinger) { [weak self] in
            self?.carrier.finish(linger: 0)
        }
    }

    // MARK: CarrierListener

    func carrierReceived(_ bytes: UnsafeRawBufferPointer) { ws.receive(bytes) }

    func carrierDrained() {
        for tunnel in tunnels { tunnel.carrierDrained() }
    }

    func carrierClosed() {
        closed = true
        lingerTimer?.cancel()
        for tunnel in tunnels { tunnel.clientLeft() }
    }

    /// Nothing new starts on this connection anyway: its ports were fixed at the upgrade.
    func drain() {}

    // MARK: WebSocketConnectionDelegate

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        carrier.write(bytes)
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {
        reader.start()
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        try? reader.feed(bytes) { deliver($0) }
    }

    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        try? reader.end { deliver($0) }
    }

    /// Data on an even channel goes to its port; anything else from the client carries nothing.
    private func deliver(_ event: ChannelMessageReader.Event) {
        guard case .data(let channel, let bytes) = event, channel % 2 == 0 else { return }
        let index = Int(channel / 2)
        guard index < tunnels.count else { return }
        tunnels[index].clientSent(bytes)
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        lingerTimer?.cancel()
        for tunnel in tunnels { tunnel.clientLeft() }
        carrier.finish(linger: config.closeLinger)
    }

    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        logger.info("WebSocket protocol error from port-forward client", metadata: ["code": "\(code)", "reason": "\(reason)"])
        for tunnel in tunnels { tunnel.clientLeft() }
        carrier.finish(linger: config.closeLinger)
    }
}
