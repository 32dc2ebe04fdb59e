import ExecModel
import HTTP1
import Reactor
import SPDY
import WebSocket

/// The client side of kubelet's SPDY/3.1 port-forward protocol (`portforward.k8s.io`), as
/// client-go's `PortForwarder` behaves: one upgraded connection carrying any number of tunnels,
/// each an error stream then a data stream (`streamType`, `port`, `requestID` headers).
///
/// `webSocketTunnel` is what kubectl 1.31+ tries first: the same SPDY frames inside WebSocket
/// binary messages, negotiated as subprotocol `SPDY/3.1+portforward.k8s.io`, with no inner
/// HTTP upgrade (client-go `tunneling_dialer.go`).
public final class SPDYPortForwardClient: ConnectionHandler, SPDYSessionDelegate, WebSocketConnectionDelegate {
    public enum Transport: Sendable { case upgrade, webSocketTunnel }

    public static let protocolName = "portforward.k8s.io"
    public static let tunnelProtocol = "SPDY/3.1+" + protocolName

    /// The upgrade is done: tunnels go out at once (before, they wait).
    public private(set) var isReady = false
    /// Why the connection could not start or was lost (nil while it lives).
    public private(set) var failure: ExecStatus?
    /// Told once: the connection is up (nil) or failed before (the failure).
    public var onStart: ((ExecStatus?) -> Void)?
    /// Told once when a connection that had started is gone.
    public var onLost: ((ExecStatus) -> Void)?

    private let options: ExecClientOptions
    private let transport: Transport
    private var connection: Connection?
    /// The answer to the SPDY upgrade (`.upgrade`), or to the tunnel's WebSocket handshake.
    private var answer = UpgradeAnswer()
    private var handshake = WebSocketClientHandshake(offering: [SPDYPortForwardClient.tunnelProtocol])
    private var ws: WebSocketConnection?
    private(set) var session: SPDYSession?
    private var tunnels: [UInt32: SPDYPortForwardTunnel] = [:]
    /// Every tunnel not yet ended, in the order opened.
    private var live: [SPDYPortForwardTunnel] = []
    private var waiting: [SPDYPortForwardTunnel] = []
    private var requestIDs = PortForwardRequestIDs()
    private var lifecycle: ConnectionLifecycle = .open
    private let safeClose = ParseSafeClose()
    private var pingTimer: LoopTimer?
    private let pingInterval: Double
    /// Tunnels that asked for no input: the one socket is paused while any does.
    private var pausedTunnels = Set<ObjectIdentifier>()

    public init(options: ExecClientOptions, transport: Transport = .upgrade, pingInterval: Double = 5) {
        self.options = options
        self.transport = transport
        self.pingInterval = pingInterval
    }

    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil) {
        connection = Connection.connect(loop: loop, to: address, tls: tls, serverName: serverName, handler: self)
        if connection == nil { lose(.internalError("cannot connect to \(address)")) }
    }

    /// Runs on a connection that is already open (the upstream backend dials it itself).
    public func start(on connection: Connection) {
        self.connection = connection
        connection.handler = self
        connectionDidConnect(connection)
        if connection.inputCount > 0 { connectionDidRead(connection) }
    }

    /// A tunnel to the pod's `port`: its streams open now, or once the upgrade is done.
    public func openTunnel(port: UInt16, delegate: SessionEndpointDelegate) -> SPDYPortForwardTunnel {
        let tunnel = SPDYPortForwardTunnel(client: self, port: port, requestID: requestIDs.take(), delegate: delegate)
        if failure == nil { live.append(tunnel) }
        if let failure {
            tunnel.lost(failure)
        } else if isReady {
            tunnel.openStreams()
        } else {
            waiting.append(tunnel)
        }
        return tunnel
    }

    /// GOAWAY, then a graceful close: tunnels still open are lost.
    public func close() {
        guard lifecycle == .open else { return }
        lifecycle = .closing
        pingTimer?.cancel()
        session?.goAway(status: .ok)
        connection?.closeGracefully(linger: 1)
    }

    /// Closes the socket at once, as a killed client would.
    public func abort() {
        lifecycle = lifecycle == .closed ? .closed : .closing
        pingTimer?.cancel()
        safeClose.close(connection)
    }

    public var tunnelCount: Int { live.count }

    // MARK: For tunnels

    func register(_ tunnel: SPDYPortForwardTunnel, stream id: UInt32) { tunnels[id] = tunnel }

    func forget(_ tunnel: SPDYPortForwardTunnel) {
        tunnels = tunnels.filter { $0.value !== tunnel }
        waiting.removeAll { $0 === tunnel }
        live.removeAll { $0 === tunnel }
        setReading(true, for: tunnel)
    }

    var outputCount: Int { connection?.outputCount ?? 0 }

    func setReading(_ on: Bool, for tunnel: SPDYPortForwardTunnel) {
        let wasPaused = !pausedTunnels.isEmpty
        if on { pausedTunnels.remove(ObjectIdentifier(tunnel)) } else { pausedTunnels.insert(ObjectIdentifier(tunnel)) }
        guard wasPaused != !pausedTunnels.isEmpty else { return }
        if pausedTunnels.isEmpty { connection?.resumeReading() } else { connection?.pauseReading() }
    }

    // MARK: ConnectionHandler

    public func connectionDidConnect(_ connection: Connection) {
        guard transport == .upgrade else {
            // A GET (RFC 6455 §4.1), as client-go's tunneling dialer sends.
            connection.write(handshake.request(options))
            return
        }
        var headers = HTTPHeaders()
        headers.add("Host", options.authority)
        headers.add("Connection", "Upgrade")
        headers.add("Upgrade", "SPDY/3.1")
        headers.add("X-Stream-Protocol-Version", Self.protocolName)
        for (name, value) in options.headers { headers.add(name, value) }
        headers.add("Content-Length", "0")
        connection.write(HTTPRequestHead(method: options.method, target: options.path, version: .http11, headers: headers).serialized())
    }

    public func connectionDidRead(_ connection: Connection) {
        guard lifecycle != .closed else { return }
        safeClose.parse(connection) {
            if session == nil { readUpgradeAnswer(connection) }
            guard let session, connection.isOpen else { return }
            connection.consumeInput { chunk in
                guard lifecycle != .closed, !safeClose.isPending else { return chunk.count }
                if let ws { ws.receive(chunk) } else { session.receive(chunk) }
                return chunk.count
            }
        }
    }

    public func connectionDidDrain(_ connection: Connection) {
        for tunnel in live { tunnel.drained() }
    }

    public func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        lifecycle = .closed
        pingTimer?.cancel()
        self.connection = nil
        if session == nil, let refusal = transport == .upgrade ? answer.pendingRefusal : handshake.pendingRefusal {
            return lose(refusal)
        }
        guard session != nil else { return lose(.internalError("connection closed before the upgrade (\(reason))")) }
        lose(.internalError("lost connection to the server"))
    }

    private func readUpgradeAnswer(_ connection: Connection) {
        let step: UpgradeAnswer.Step
        if transport == .upgrade {
            step = answer.read(connection)
        } else {
            switch handshake.read(connection) {
            case .needMore: step = .needMore
            case .malformed(let message): step = .malformed(message)
            case .refused(let head, let status): step = .refused(head, status)
            case .badHandshake(_, let error): return lose(.internalError("bad WebSocket handshake: \(error)"))
            case .accepted(let head, _):
                let ws = WebSocketConnection(role: .client)
                ws.delegate = self
                self.ws = ws
                step = .switched(head)
            }
        }
        switch step {
        case .needMore:
            return
        case .malformed(let message):
            lose(.internalError("bad upgrade response: \(message)"))
        case .refused(_, let status):
            lose(status)
        case .switched:
            session = SPDYSession(role: .client, delegate: self)
            isReady = true
            pingTimer = LoopTimer(loop: connection.loop, after: pingInterval, repeats: true) { [weak self] in
                _ = self?.session?.ping()
            }
            let start = onStart
            onStart = nil
            start?(nil)
            let due = waiting
            waiting = []
            for tunnel in due { tunnel.openStreams() }
        }
    }

    /// Every tunnel hears `status`; the connection closes.
    private func lose(_ status: ExecStatus) {
        guard failure == nil else { return }
        failure = status
        pingTimer?.cancel()
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
        let all = live
        live = []
        waiting = []
        tunnels = [:]
        for tunnel in all { tunnel.lost(status) }
        if let start = onStart {
            onStart = nil
            start(status)
        } else if isReady {
            let lost = onLost
            onLost = nil
            lost?(status)
        }
    }

    // MARK: SPDYSessionDelegate

    public func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) {
        if let ws { _ = ws.sendBinary(bytes) } else { connection?.write(bytes) }
    }

    public func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        s.reset(id, status: .refusedStream) // servers open no streams in port-forward
    }

    public func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {
        tunnels[id]?.replied(id, fin: fin)
    }

    public func spdySession(_ s: SPDYSession, didReceiveHeaders id: UInt32, headers: SPDYHeaders, fin: Bool) {
        if fin { tunnels[id]?.ended(id) }
    }

    public func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        tunnels[id]?.received(bytes, on: id)
    }

    public func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) {
        tunnels[id]?.ended(id)
    }

    public func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {
        tunnels[id]?.reset(id, status: status)
    }

    public func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}

    public func spdySession(_ s: SPDYSession, didUpdateSendWindow id: UInt32) {
        if id == 0 {
            for tunnel in live { tunnel.windowOpened() }
        } else {
            tunnels[id]?.windowOpened()
        }
    }

    public func spdySession(_ s: SPDYSession, didFail error: SPDYError) {
        lose(.internalError("SPDY protocol error from the server: \(error)"))
    }

    // MARK: WebSocketConnectionDelegate (the tunnel transport)

    public func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        self.connection?.write(bytes)
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {}

    public func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        session?.receive(bytes)
    }

    public func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {}

    public func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        lose(.internalError("the server closed the tunnel" + (reason.isEmpty ? "" : ": \(reason)")))
    }

    public func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        lose(.internalError("WebSocket protocol error from the server (\(code)): \(reason)"))
    }
}
