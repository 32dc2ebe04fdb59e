import ExecModel
import HTTP1
import Reactor
import WebSocket

/// One forwarded connection in kubelet's WebSocket port-forward protocol (`v4.channel.k8s.io`,
/// `portforward/websocket.go`): a WebSocket of its own whose path asks for the one port
/// (`?ports=P`), channel 0 the data and channel 1 the error text, each opened by the server with
/// the port as 2 bytes little-endian (stripped here).
///
/// The protocol has no half-close: after `.halfClose(.stdin)` nothing more is sent, and the
/// tunnel stays open for what the pod still sends, until the server closes the WebSocket (or the
/// tunnel is terminated). The close ends the tunnel: success, or the error channel's text.
public final class WebSocketPortForwardClient: ConnectionHandler, WebSocketConnectionDelegate, SessionEndpoint {
    public static let subprotocols = [WebSocketSubprotocol.v4.token, WebSocketSubprotocol.v4Base64.token]

    public let port: UInt16
    public private(set) var isReady = false
    public private(set) var lastFailure: ExecStatus?
    /// Whether the handshake was refused (the session never started).
    public private(set) var refused = false

    private let options: ExecClientOptions
    private weak var delegate: SessionEndpointDelegate?
    private var connection: Connection?
    private var handshake = WebSocketClientHandshake(offering: WebSocketPortForwardClient.subprotocols)
    private var ws: WebSocketConnection?
    private var writer: ChannelMessageWriter?
    private var reader: ChannelMessageReader?
    private var base64 = false
    /// Port-prefix bytes still to strip on channels 0 and 1.
    private var prefixLeft: [Int] = [2, 2]
    private var state = PortForwardTunnelState()
    private var queued = PendingInput(limit: .max)
    private var stdinEnded = false
    private var finished = false
    private var lifecycle: ConnectionLifecycle = .open
    private let safeClose = ParseSafeClose()
    private var pingTimer: LoopTimer?
    private let pingInterval: Double

    /// `options.path` must already ask for `port` (`?ports=P`, see `PortForwardPath`).
    public init(options: ExecClientOptions, port: UInt16, delegate: SessionEndpointDelegate, pingInterval: Double = 5) {
        self.options = options
        self.port = port
        self.delegate = delegate
        self.pingInterval = pingInterval
    }

    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil) {
        connection = Connection.connect(loop: loop, to: address, tls: tls, serverName: serverName, handler: self)
        if connection == nil { fail(.internalError("cannot connect to \(address)")) }
    }

    public func start(on connection: Connection) {
        self.connection = connection
        connection.handler = self
        connectionDidConnect(connection)
        if connection.inputCount > 0 { connectionDidRead(connection) }
    }

    // MARK: ConnectionHandler

    public func connectionDidConnect(_ connection: Connection) {
        connection.write(handshake.request(options))
    }

    public func connectionDidRead(_ connection: Connection) {
        guard lifecycle != .closed else { return }
        safeClose.parse(connection) {
            if ws == nil { readUpgradeAnswer(connection) }
            guard let ws, connection.isOpen else { return }
            connection.consumeInput { chunk in
                guard lifecycle != .closed, !safeClose.isPending else { return chunk.count }
                ws.receive(chunk)
                return chunk.count
            }
        }
    }

    public func connectionDidDrain(_ connection: Connection) {
        delegate?.endpointDidDrain(self)
    }

    public func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        lifecycle = .closed
        pingTimer?.cancel()
        self.connection = nil
        guard !finished else { return }
        if ws == nil, let refusal = handshake.pendingRefusal {
            refused = true
            return fail(refusal)
        }
        guard ws != nil else { return fail(.internalError("connection closed before the upgrade (\(reason))")) }
        closed()
    }

    private func readUpgradeAnswer(_ connection: Connection) {
        switch handshake.read(connection) {
        case .needMore:
            return
        case .malformed(let message):
            fail(.internalError("bad upgrade response: \(message)"))
        case .refused(_, let status):
            refused = true
            fail(status)
        case .badHandshake(_, let error):
            fail(.internalError("bad WebSocket handshake: \(error)"))
        case .accepted(_, let chosen):
            base64 = chosen == WebSocketSubprotocol.v4Base64.token
            let ws = WebSocketConnection(role: .client)
            ws.delegate = self
            self.ws = ws
            writer = ChannelMessageWriter(base64: base64)
            reader = ChannelMessageReader(base64: base64, closeSignal: false)
            isReady = true
            pingTimer = LoopTimer(loop: connection.loop, after: pingInterval, repeats: true) { [weak self] in
                _ = self?.ws?.ping()
            }
            var input = queued.take()
            input.replay { receive($0) }
        }
    }

    // MARK: WebSocketConnectionDelegate

    public func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        self.connection?.write(bytes)
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {
        reader?.start()
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        try? reader?.feed(bytes) { deliver($0) }
    }

    public func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        try? reader?.end { deliver($0) }
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        closed()
    }

    public func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        fail(.internalError("WebSocket protocol error from the server (\(code)): \(reason)"))
    }

    private func deliver(_ event: ChannelMessageReader.Event) {
        guard !finished, case .data(let channel, var bytes) = event, channel < 2 else { return }
        let strip = min(prefixLeft[Int(channel)], bytes.count)
        prefixLeft[Int(channel)] -= strip
        bytes = UnsafeRawBufferPointer(rebasing: bytes[strip...])
        guard !bytes.isEmpty else { return }
        if channel == 0 {
            delegate?.endpoint(self, emitted: .data(.stdout, bytes))
        } else {
            state.appendError(bytes)
        }
    }

    // MARK: Ending

    /// The WebSocket ended: both directions are done.
    private func closed() {
        guard !finished else { return }
        finished = true
        pingTimer?.cancel()
        delegate?.endpoint(self, emitted: .halfClose(.stdout))
        let status = state.status
        if status.exitCode == nil { lastFailure = status }
        if lifecycle != .closed { lifecycle = .closing }
        connection?.closeGracefully(linger: 1)
        delegate?.endpoint(self, emitted: .exit(status))
    }

    private func fail(_ status: ExecStatus) {
        guard !finished else { return }
        finished = true
        pingTimer?.cancel()
        lastFailure = status
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
        if isReady {
            delegate?.endpoint(self, didEnd: .backendGone)
        } else {
            delegate?.endpoint(self, emitted: .exit(status))
        }
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        guard isReady, let ws, let writer else { return queued.hold(event) }
        switch event {
        case .data(.stdin, let bytes):
            guard !stdinEnded, !bytes.isEmpty else { return }
            writer.write(channel: 0, bytes) { isText, head, body in
                if isText { _ = ws.sendText(head, body) } else { _ = ws.sendBinary(head, body) }
            }
        case .halfClose(.stdin):
            stdinEnded = true
        default:
            break
        }
    }

    public var pendingBytes: Int { (connection?.outputCount ?? 0) + queued.stdin.count }

    public func setReading(_ on: Bool) {
        if on { connection?.resumeReading() } else { connection?.pauseReading() }
    }

    public func terminate(_ reason: EndReason) {
        pingTimer?.cancel()
        guard !finished else { return }
        finished = true
        ws?.close(code: reason == .completed ? .normalClosure : .goingAway)
        if lifecycle != .closed { lifecycle = .closing }
        connection?.closeGracefully(linger: 1)
    }

    public func abort() {
        finished = true
        pingTimer?.cancel()
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
    }
}
