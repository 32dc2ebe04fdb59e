import ExecModel
import Glibc
import Logging
import Reactor

/// One exec session forwarded to the upstream: the backend end of a bridge.
///
/// It dials the upstream itself (so that the connect timeout and the TLS checks are the same for
/// every generation), hands the open connection to the client role of the configured generation,
/// and stands between that client and the bridge, where the two sides' versions meet:
/// - the status arrives as the model's `ExecStatus` whatever the upstream wrote (v4 JSON or v1–v3
///   text); the frontend encodes it for the client's own version, exit codes exact;
/// - an upstream that refuses (non-101/200) becomes a Failure status with its code and message, a
///   redirect an error, an unreachable upstream `error dialing backend: …`;
/// - a resize toward an upstream version without a resize channel is dropped, with a log line.
final class UpstreamSession: SessionEndpoint, SessionEndpointDelegate, ConnectionHandler, PreparedSession {
    /// `connected`: prepared at admission, TCP/TLS up, waiting for the bridge (nothing sent yet).
    private enum State { case waiting, dialing, connected, running, ended }

    private let config: UpstreamConfig
    private let loop: EventLoop
    private weak var delegate: SessionEndpointDelegate?
    private let logger: Logger
    private var client: UpstreamClient?
    private var dialConnection: Connection?
    private var dialStarted = 0.0
    private var timer: LoopTimer?
    private var state = State.waiting
    private var reading = true
    private var resizeQueued = false
    private var resizeDropLogged = false
    private var onEnd: (() -> Void)?
    /// Prepared, not yet attached: a failure waits here for the bridge.
    private var heldFailure: ExecStatus?
    /// Pooled HTTP/2: the session's streams go on a shared connection instead of a dial.
    private var pool: HTTP2UpstreamPool?
    /// The most channel streams the session opens (what it reserves on a shared connection).
    private let streams: Int
    private var attached: Bool
    /// Events the client reports while `attach` runs, delivered on the next turn.
    private var deferring = false
    private var deferred: [() -> Void] = []

    /// `delegate` nil: prepared at admission; the dial starts now and `attach` hands it over.
    init(request: ExecRequest, options: ExecClientOptions, config: UpstreamConfig, loop: EventLoop,
         pool: HTTP2UpstreamPool? = nil, delegate: SessionEndpointDelegate?, logger: Logger, onEnd: @escaping () -> Void) {
        self.config = config
        self.pool = pool
        self.streams = options.channels(for: .v5).count
        self.loop = loop
        self.delegate = delegate
        self.attached = delegate != nil
        self.logger = logger
        self.onEnd = onEnd
        client = config.url.scheme.makeClient(options: options, delegate: self, pingInterval: config.pingInterval)
        if !attached, pool != nil, let shared = client as? HTTP2ExecClient { shared.holdsChannels = true }
        if attached {
            // Dial on the next turn: the bridge learns who its backend is from this init's caller,
            // and must know it before the first event (a refused connect can be immediate).
            timer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.dial() }
        } else {
            dial()
        }
    }

    // MARK: PreparedSession

    func attach(_ delegate: SessionEndpointDelegate) -> SessionEndpoint {
        self.delegate = delegate
        attached = true
        if state == .running, let shared = client as? HTTP2ExecClient {
            // Pooled: the channel streams go in this turn; what that reports waits for the next
            // (the bridge learns its backend from this call's return).
            deferring = true
            shared.releaseChannels()
            deferring = false
            runStarted()
            if !deferred.isEmpty { timer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.replayDeferred() } }
            return self
        }
        // On the next turn, for the same reason as the dial above.
        if state == .connected || heldFailure != nil {
            timer = LoopTimer(loop: loop, after: 0) { [weak self] in self?.attachedTurn() }
        }
        return self
    }

    private func replayDeferred() {
        let events = deferred
        deferred = []
        for event in events { event() }
    }

    private func attachedTurn() {
        if let status = heldFailure {
            heldFailure = nil
            return delegate?.endpoint(self, emitted: .exit(status)) ?? ()
        }
        guard state == .connected, let connection = dialConnection else { return }
        dialConnection = nil
        run(on: connection)
    }

    func cancel() {
        guard !attached else { return }
        heldFailure = nil
        terminate(.clientGone)
    }

    // MARK: Dialing

    private func dial() {
        guard state == .waiting else { return }
        guard client != nil else {
            return failed(.failure(message: "no client for \(config.url.scheme.rawValue) upstreams", reason: "InternalError", code: 500))
        }
        if let pool, let shared = client as? HTTP2ExecClient {
            state = .running
            pool.assign(shared, streams: streams)
            return attached ? runStarted() : ()
        }
        if let pool, pool.carriesSessions, let webSocket = client as? WebSocketExecClient {
            state = .running
            pool.assign(webSocket) { [weak self] in self?.fallBack() }
            return runStarted()
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
        if state == .dialing {
            dialConnection = connection
            timer = LoopTimer(loop: loop, after: config.connectTimeout) { [weak self] in
                guard let self, self.state == .dialing else { return }
                self.dialFailed(DialError.timeout(self.config))
            }
        }
    }

    /// The pooled connection cannot carry the WebSocket session (no RFC 8441): nothing was sent
    /// upstream yet, so it dials a connection of its own for the HTTP/1.1 upgrade.
    private func fallBack() {
        guard state == .running else { return }
        timer?.cancel()
        pool = nil
        state = .waiting
        dial()
    }

    func connectionDidConnect(_ connection: Connection) {
        guard state == .dialing else { return }
        timer?.cancel()
        if config.url.scheme == .h2, connection.negotiatedALPN != "h2" {
            dialConnection = nil
            connection.close()
            return dialFailed("tls: the server at \(config.url.authority) did not agree to h2 by ALPN")
        }
        guard attached else {
            // Prepared: the connection waits (unread) for the bridge; its close is still watched.
            state = .connected
            return
        }
        dialConnection = nil
        run(on: connection)
    }

    private func run(on connection: Connection) {
        guard let client else { return }
        state = .running
        GatewayMetrics.upstreamDialed(started: dialStarted, failure: nil)
        client.start(on: connection)
        runStarted()
    }

    private func runStarted() {
        guard state == .running else { return }
        if !reading { client?.setReading(false) }
        // The upgrade answer and every stream reply must come in time (a silent upstream
        // otherwise holds the session until the idle timeout).
        timer = LoopTimer(loop: loop, after: config.sessionSetupTimeout) { [weak self] in self?.setupTimedOut() }
    }

    func connectionDidRead(_ connection: Connection) {}

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        guard state == .dialing || state == .connected else { return }
        dialConnection = nil
        dialFailed(DialError.describe(reason, upstream: config))
    }

    private func dialFailed(_ detail: String) {
        GatewayMetrics.upstreamDialed(started: dialStarted, failure: detail)
        logger.info("upstream unreachable", metadata: ["upstream": "\(config.url.authority)", "error": "\(detail)"])
        failed(.failure(message: "error dialing backend: \(detail)", reason: "ServiceUnavailable", code: 503))
    }

    private func setupTimedOut() {
        guard state == .running, let client, !client.isReady else { return }
        logger.info("upstream did not set up the session in time", metadata: ["upstream": "\(config.url.authority)"])
        client.terminate(.timeout)
        failed(.failure(message: "the backend did not set up the exec session within \(Int(config.sessionSetupTimeout)) s",
                        reason: "Timeout", code: 504))
    }

    /// Ends the session with `status` before (or instead of) anything from the upstream.
    private func failed(_ status: ExecStatus) {
        guard state != .ended else { return }
        end()
        if let connection = dialConnection {
            dialConnection = nil
            connection.handler = nil
            connection.close()
        }
        guard attached else { return heldFailure = status }
        delegate?.endpoint(self, emitted: .exit(status))
    }

    private func end() {
        state = .ended
        timer?.cancel()
        timer = nil
        let onEnd = self.onEnd
        self.onEnd = nil
        onEnd?()
    }

    // MARK: From the upstream (the client's delegate)

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        guard state == .running else { return }
        if deferring { return deferred.append { [weak self] in self?.endpoint(endpoint, emitted: event) } }
        guard attached else {
            // Prepared: only the error stream is open, so only its status can come.
            if case .exit(let status) = event { failed(status) }
            return
        }
        if resizeQueued { logResizeDropIfNeeded() }
        switch event {
        case .exit(let status):
            end()
            delegate?.endpoint(self, emitted: .exit(status))
        default:
            delegate?.endpoint(self, emitted: event)
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        delegate?.endpointDidDrain(self)
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        guard state == .running else { return }
        if deferring { return deferred.append { [weak self] in self?.endpoint(endpoint, didEnd: reason) } }
        let detail = client?.lastFailure.map { "\($0)" } ?? "\(reason.rawValue)"
        if client?.version == nil {
            // Gone before it answered the upgrade: the session never existed upstream.
            logger.info("upstream failed before the session started", metadata: ["error": "\(detail)"])
            let message = client?.lastFailure.map { Self.failureText($0) } ?? "connection closed"
            return failed(.failure(message: "error dialing backend: \(message)", reason: "ServiceUnavailable", code: 503))
        }
        guard attached else {
            return failed(.failure(message: "error dialing backend: \(detail)", reason: "ServiceUnavailable", code: 503))
        }
        logger.info("upstream connection lost", metadata: ["error": "\(detail)"])
        end()
        // The bridge writes "lost connection to backend": never success.
        delegate?.endpoint(self, didEnd: reason)
    }

    private static func failureText(_ status: ExecStatus) -> String {
        if case .failure(let message, _, _) = status { return message }
        return status.message
    }

    // MARK: From the client side (the bridge)

    func receive(_ event: SessionEvent) {
        guard state != .ended, let client else { return }
        if case .resize = event {
            guard let version = client.version else {
                // Queued by the client until its streams exist; whether it can go is known then.
                resizeQueued = true
                client.receive(event)
                return
            }
            guard version.hasResize else { return logResizeDropIfNeeded() }
        }
        client.receive(event)
    }

    private func logResizeDropIfNeeded() {
        guard let version = client?.version else { return }
        resizeQueued = false
        guard !version.hasResize, !resizeDropLogged else { return }
        resizeDropLogged = true
        logger.info("dropping terminal resize: the upstream negotiated a version without a resize channel",
                    metadata: ["upstreamVersion": "\(version)"])
    }

    var pendingBytes: Int { client?.pendingBytes ?? 0 }

    func setReading(_ on: Bool) {
        reading = on
        if state == .running { client?.setReading(on) }
    }

    func terminate(_ reason: EndReason) {
        if state != .ended { end() }
        if let connection = dialConnection {
            dialConnection = nil
            connection.handler = nil
            connection.close()
        }
        // The client ends its upstream session (GOAWAY, graceful close) unless it already did.
        client?.terminate(reason)
    }
}
