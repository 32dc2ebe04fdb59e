import ExecModel
import Glibc
import Logging
import Reactor

/// One port-forward tunnel forwarded to the upstream, in the upstream's generation: the backend
/// end of a tunnel's bridge, whatever generation the client spoke (the bridge carries the shared
/// stream model, so a SPDY client reaches an h2c upstream and a WebSocket client a SPDY one).
///
/// SPDY and WebSocket upstreams get a connection per tunnel (kubelet carries any number; a tunnel
/// then has its own TCP backpressure and its own failure); `h2c://` and `h2://` put the tunnel's
/// two streams on the pool's shared connections; `h2c+upgrade://` upgrades a connection of its
/// own. The upstream's error text comes back as the tunnel's failure message, unchanged.
final class UpstreamPortForwardSession: SessionEndpoint, SessionEndpointDelegate, ConnectionHandler {
    private enum State { case waiting, dialing, running, ended }

    private let request: ExecRequest
    private let options: ExecClientOptions
    private let config: UpstreamConfig
    private let loop: EventLoop
    private let pool: HTTP2UpstreamPool?
    private weak var delegate: SessionEndpointDelegate?
    private let logger: Logger
    private var state = State.waiting
    private var dialConnection: Connection?
    private var dialStarted = 0.0
    private var timer: LoopTimer?
    private var tunnel: SessionEndpoint?
    /// SPDY: the connection the tunnel runs on, closed after it.
    private var spdy: SPDYPortForwardClient?
    private var reading = true
    private var queued = PendingInput(limit: .max)
    private var onEnd: (() -> Void)?

    init(request: ExecRequest, options: ExecClientOptions, config: UpstreamConfig, loop: EventLoop, pool: HTTP2UpstreamPool?,
         delegate: SessionEndpointDelegate, logger: Logger, onEnd: @escaping () -> Void) {
        self.request = request
        self.options = options
        self.config = config
        self.loop = loop
        self.pool = config.url.scheme == .wss ? nil : pool
        self.delegate = delegate
        self.logger = logger
        self.onEnd = onEnd
        // On the next turn: the bridge learns who its backend is from this init's caller first.
        timer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.dial() }
    }

    private var port: UInt16 { request.ports.first ?? 0 }

    // MARK: Dialing

    private func dial() {
        guard state == .waiting else { return }
        guard request.ports.count == 1, port > 0 else {
            return failed(.failure(message: "a port-forward tunnel names exactly one port", reason: "BadRequest", code: 400))
        }
        if let pool {
            let tunnel = HTTP2PortForwardTunnel(options: options, port: port, secure: config.url.scheme.usesTLS, delegate: self)
            state = .running
            pool.assign(tunnel)
            return run(tunnel)
        }
        state = .dialing
        dialStarted = EventLoop.now()
        let connection: Connection
        switch config.dialSession(on: loop, handler: self) {
        case .connecting(let dialled):
            connection = dialled
        case .failed(let detail):
            // (An immediate connect failure was already reported through connectionDidClose.)
            if state == .dialing { dialFailed(detail) }
            return
        }
        guard state == .dialing else { return }
        dialConnection = connection
        timer = LoopTimer(loop: loop, after: config.connectTimeout) { [weak self] in
            guard let self, self.state == .dialing else { return }
            self.dialFailed(DialError.timeout(self.config))
        }
    }

    func connectionDidConnect(_ connection: Connection) {
        guard state == .dialing else { return }
        timer?.cancel()
        dialConnection = nil
        if config.url.scheme == .h2, connection.negotiatedALPN != "h2" {
            connection.close()
            return dialFailed("tls: the server at \(config.url.authority) did not agree to h2 by ALPN")
        }
        GatewayMetrics.upstreamDialed(started: dialStarted, failure: nil)
        state = .running
        switch config.url.scheme {
        case .spdy, .spdys:
            let client = SPDYPortForwardClient(options: options, transport: .upgrade, pingInterval: config.pingInterval)
            spdy = client
            client.start(on: connection)
            run(client.openTunnel(port: port, delegate: self) as SPDYPortForwardTunnel)
        case .ws, .wss:
            let client = WebSocketPortForwardClient(options: options, port: port, delegate: self, pingInterval: config.pingInterval)
            client.start(on: connection)
            run(client)
        case .h2c, .h2, .h2cUpgrade:
            let carrier = HTTP2ClientConnection(
                loop: loop, settings: HTTP2ExecClient.settings, pingInterval: config.pingInterval,
                upgradeRequest: config.url.scheme == .h2cUpgrade ? HTTP2PortForwardClient.upgradeRequest(options) : nil,
                closesWhenUnused: true)
            let tunnel = HTTP2PortForwardTunnel(options: options, port: port, secure: config.url.scheme.usesTLS, delegate: self)
            tunnel.start(on: carrier)
            carrier.adopt(connection)
            run(tunnel)
        }
    }

    func connectionDidRead(_ connection: Connection) {}

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        guard state == .dialing else { return }
        dialConnection = nil
        dialFailed(DialError.describe(reason, upstream: config))
    }

    private func run(_ tunnel: SessionEndpoint) {
        guard state == .running else { return }
        self.tunnel = tunnel
        if !reading { tunnel.setReading(false) }
        var input = queued.take()
        input.replay { tunnel.receive($0) }
        timer = LoopTimer(loop: loop, after: config.sessionSetupTimeout) { [weak self] in self?.setupTimedOut() }
    }

    private var tunnelReady: Bool {
        switch tunnel {
        case let t as SPDYPortForwardTunnel: return t.isReady
        case let t as HTTP2PortForwardTunnel: return t.isReady
        case let t as WebSocketPortForwardClient: return t.isReady
        default: return false
        }
    }

    private func setupTimedOut() {
        guard state == .running, !tunnelReady else { return }
        logger.info("upstream did not set up the port-forward tunnel in time", metadata: ["upstream": "\(config.url.authority)"])
        tunnel?.terminate(.timeout)
        failed(.failure(message: "the backend did not set up the port-forward tunnel within \(Int(config.sessionSetupTimeout)) s",
                        reason: "Timeout", code: 504))
    }

    private func dialFailed(_ detail: String) {
        GatewayMetrics.upstreamDialed(started: dialStarted, failure: detail)
        logger.info("upstream unreachable", metadata: ["upstream": "\(config.url.authority)", "error": "\(detail)"])
        failed(.failure(message: "error dialing backend: \(detail)", reason: "ServiceUnavailable", code: 503))
    }

    private func failed(_ status: ExecStatus) {
        guard state != .ended else { return }
        end()
        delegate?.endpoint(self, emitted: .exit(status))
    }

    private func end() {
        state = .ended
        timer?.cancel()
        timer = nil
        if let connection = dialConnection {
            dialConnection = nil
            connection.handler = nil
            connection.close()
        }
        spdy?.close()
        let onEnd = self.onEnd
        self.onEnd = nil
        onEnd?()
    }

    // MARK: From the upstream (the tunnel's delegate)

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        guard state == .running else { return }
        if case .exit = event { end() }
        delegate?.endpoint(self, emitted: event)
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        delegate?.endpointDidDrain(self)
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        guard state == .running else { return }
        logger.info("upstream port-forward connection lost", metadata: ["port": "\(port)"])
        end()
        delegate?.endpoint(self, didEnd: reason)
    }

    // MARK: From the client side (the bridge)

    func receive(_ event: SessionEvent) {
        guard state != .ended else { return }
        guard let tunnel else { return queued.hold(event) }
        tunnel.receive(event)
    }

    var pendingBytes: Int { (tunnel?.pendingBytes ?? 0) + queued.stdin.count }

    func setReading(_ on: Bool) {
        reading = on
        tunnel?.setReading(on)
    }

    func terminate(_ reason: EndReason) {
        // The tunnel's own end (RST, close frame) goes before the connection's GOAWAY.
        tunnel?.terminate(reason)
        if state != .ended { end() }
    }
}
