import ExecModel
import HTTP1
import Logging
import Reactor
import SPDY

/// The client side of a SPDY/3.1 exec session, as client-go's executor behaves: the upgrade
/// request, streams opened in client-go's order each after the previous reply, stdin with FIN on
/// EOF, resize JSON, pings, and the status read from the error stream.
///
/// It is a `SessionEndpoint`: toward the upstream it is the gateway's backend session; in tests
/// and `execbridge exec` a small delegate collects its events.
public final class SPDYExecClient: ConnectionHandler, SPDYSessionDelegate, SessionEndpoint {
    public private(set) var upgradeResponse: HTTPResponseHead?
    public private(set) var version: ChannelVersion?
    /// Whether every channel stream is open (stdin may be sent from then on).
    public private(set) var isReady = false

    private let options: ExecClientOptions
    private weak var delegate: SessionEndpointDelegate?
    private var connection: Connection?
    private var answer = UpgradeAnswer()
    private var session: SPDYSession?
    private var toOpen: [Channel] = []
    private var streams: [Channel: UInt32] = [:]
    private var channels: [UInt32: Channel] = [:]
    private var pendingOpen: UInt32?
    private var errorBytes: [UInt8] = []
    private var openOutputs: Set<Channel> = []
    private var errorEnded = false
    private var finished = false
    /// Every callback checks it; closing never happens mid-parse (the codec reads the input in place).
    private var lifecycle: ConnectionLifecycle = .open
    private let safeClose = ParseSafeClose()
    /// Input written before every stream exists (the caller's pendingBytes check bounds it).
    private var queued = PendingInput(limit: .max)
    private var pingTimer: LoopTimer?
    private let pingInterval: Double
    /// Output of the read being parsed, handed on as one event when the read is done.
    private var batch = OutputBatch()
    private var batching = false

    public init(options: ExecClientOptions, delegate: SessionEndpointDelegate, pingInterval: Double = 5) {
        self.options = options
        self.delegate = delegate
        self.pingInterval = pingInterval
    }

    /// Connects and upgrades. Everything after is reported through the delegate.
    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil) {
        connection = Connection.connect(loop: loop, to: address, tls: tls, serverName: serverName, handler: self)
        if connection == nil {
            fail(.internalError("cannot connect to \(address)"), reason: .backendGone)
        }
    }

    /// Runs on a connection that is already open (the upstream backend dials it itself, with its
    /// connect timeout and TLS checks, then hands it over).
    public func start(on connection: Connection) {
        self.connection = connection
        connection.handler = self
        connectionDidConnect(connection)
        if connection.inputCount > 0 { connectionDidRead(connection) }
    }

    // MARK: ConnectionHandler

    public func connectionDidConnect(_ connection: Connection) {
        var headers = HTTPHeaders()
        headers.add("Host", options.authority)
        headers.add("Connection", "Upgrade")
        headers.add("Upgrade", "SPDY/3.1")
        for version in options.versions { headers.add("X-Stream-Protocol-Version", version.token) }
        for (name, value) in options.headers { headers.add(name, value) }
        headers.add("Content-Length", "0")
        let head = HTTPRequestHead(method: options.method, target: options.path, version: .http11, headers: headers)
        connection.write(head.serialized())
    }

    public func connectionDidRead(_ connection: Connection) {
        guard lifecycle != .closed else { return }
        safeClose.parse(connection) {
            if session == nil {
                readUpgradeResponse(connection)
            }
            guard let session, connection.isOpen else { return }
            batching = true
            connection.consumeInput { chunk in
                // Once closing for good, the rest is dropped unparsed.
                guard lifecycle != .closed, !safeClose.isPending else { return chunk.count }
                session.receive(chunk)
                return chunk.count
            }
            batching = false
            handOnBatch()
        }
    }

    /// Output held for the current read goes to the delegate before anything that follows it.
    private func handOnBatch() {
        // Ended by the caller (terminate, abort): nobody takes output any more.
        guard !finished, let held = batch.take() else { return }
        held.bytes.withUnsafeBytes { delegate?.endpoint(self, emitted: .data(held.channel, $0)) }
        batch.recycle(held.bytes)
    }

    public func connectionDidDrain(_ connection: Connection) {
        delegate?.endpointDidDrain(self)
    }

    public func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        lifecycle = .closed
        pingTimer?.cancel()
        guard !finished else { return }
        guard upgradeResponse?.status == 101 else {
            if let refusal = answer.pendingRefusal {
                fail(refusal, reason: .completed)
            } else {
                fail(.internalError("connection to backend closed before the upgrade (\(reason))"), reason: .backendGone)
            }
            return
        }
        // The server closed: whatever status arrived is final; none at all is a lost backend
        // for v4+ (they always send one), and success for v1–v3 only after a clean end.
        finishWithStatus(closedEarly: !errorEnded)
    }

    private func readUpgradeResponse(_ connection: Connection) {
        switch answer.read(connection) {
        case .needMore:
            return
        case .malformed(let message):
            fail(.internalError("bad upgrade response from backend: \(message)"), reason: .backendGone)
        case .refused(let head, let status):
            upgradeResponse = head
            fail(status, reason: .completed)
        case .switched(let head):
            upgradeResponse = head
            let chosen = head.headers[first: "x-stream-protocol-version"]
            if let chosen {
                guard let v = ChannelVersion(token: chosen) else {
                    return fail(.internalError("backend chose unknown protocol version \(chosen)"), reason: .backendGone)
                }
                version = v
            } else {
                version = .v1
            }
            session = SPDYSession(role: .client, delegate: self)
            toOpen = options.channels(for: version!)
            openNext()
            pingTimer = LoopTimer(loop: connection.loop, after: pingInterval, repeats: true) { [weak self] in
                _ = self?.session?.ping()
            }
        }
    }

    // MARK: Streams

    private func openNext() {
        guard let session else { return }
        guard !toOpen.isEmpty else {
            isReady = true
            flushQueued()
            return
        }
        let channel = toOpen.removeFirst()
        guard let id = try? session.openStream(headers: ["streamtype": channel.streamType]) else {
            return fail(.internalError("cannot open the \(channel) stream"), reason: .backendGone)
        }
        streams[channel] = id
        channels[id] = channel
        pendingOpen = id
        if channel == .stdout || channel == .stderr { openOutputs.insert(channel) }
    }

    private func flushQueued() {
        var held = queued.take()
        held.replay { receive($0) }
    }

    // MARK: SPDYSessionDelegate

    public func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    public func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        s.reset(id, status: .refusedStream) // servers open no streams in exec
    }

    public func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {
        if id == pendingOpen {
            pendingOpen = nil
            openNext()
        }
        if fin { spdySession(s, didReceiveFin: id) }
    }

    public func spdySession(_ s: SPDYSession, didReceiveHeaders id: UInt32, headers: SPDYHeaders, fin: Bool) {
        if fin { spdySession(s, didReceiveFin: id) }
    }

    public func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        guard let channel = channels[id] else { return }
        switch channel {
        case .stdout, .stderr:
            if batching, !batch.accepts(bytes.count, on: channel) { handOnBatch() }
            guard batching, bytes.count < batch.limit else {
                return delegate?.endpoint(self, emitted: .data(channel, bytes)) ?? ()
            }
            batch.append(bytes, on: channel)
        case .error:
            if errorBytes.count + bytes.count <= 64 * 1024 { errorBytes.append(contentsOf: bytes) }
        case .stdin, .resize:
            break
        }
    }

    public func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) {
        guard let channel = channels[id] else { return }
        handOnBatch()
        switch channel {
        case .stdout, .stderr:
            if openOutputs.remove(channel) != nil { delegate?.endpoint(self, emitted: .halfClose(channel)) }
        case .error:
            errorEnded = true
        default:
            break
        }
        if errorEnded && openOutputs.isEmpty { finishWithStatus(closedEarly: false) }
    }

    public func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {
        // Classic servers reset streams after writing the status: treat as the end of that stream.
        spdySession(s, didReceiveFin: id)
    }

    public func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
    public func spdySession(_ s: SPDYSession, didReceivePingAck id: UInt32) {}

    public func spdySession(_ s: SPDYSession, didFail error: SPDYError) {
        fail(.internalError("SPDY protocol error from backend: \(error)"), reason: .backendGone)
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
    }

    // MARK: Ending

    private func finishWithStatus(closedEarly: Bool) {
        guard !finished, let version else { return }
        handOnBatch()
        batch.release()
        // v1–v3 say nothing on success, so a server gone before ending its output streams
        // (neither FIN nor reset) is a lost backend there too.
        let outputsOpen = !openOutputs.isEmpty
        for channel in openOutputs { delegate?.endpoint(self, emitted: .halfClose(channel)) }
        openOutputs.removeAll()
        if closedEarly && errorBytes.isEmpty && (version.hasStatusJSON || outputsOpen) {
            return fail(.internalError("lost connection to backend"), reason: .backendGone)
        }
        finished = true
        pingTimer?.cancel()
        let status = ExecStatus.decode(errorBytes, version: version)
        delegate?.endpoint(self, emitted: .exit(status))
        if lifecycle != .closed { lifecycle = .closing }
        session?.goAway(status: .ok)
        connection?.closeGracefully(linger: 1)
    }

    private func fail(_ status: ExecStatus, reason: EndReason) {
        guard !finished else { return }
        handOnBatch()
        batch.release()
        finished = true
        pingTimer?.cancel()
        if reason == .backendGone {
            delegate?.endpoint(self, didEnd: .backendGone)
        } else {
            delegate?.endpoint(self, emitted: .exit(status))
        }
        lastFailure = status
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
    }

    /// Why the session failed without a status from the server (for tests and the CLI).
    public private(set) var lastFailure: ExecStatus?

    /// Closes the socket at once, as a killed client would.
    public func abort() {
        finished = true
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        guard isReady, let session else {
            queued.hold(event)
            return
        }
        switch event {
        case .data(.stdin, let bytes):
            guard let id = streams[.stdin] else { return }
            if !heldStdin.isEmpty {
                heldStdin.append(contentsOf: bytes)
                return
            }
            // A peer that does SPDY/3.1 flow control may take less than all: hold the rest.
            let sent = (try? session.sendData(bytes, on: id)) ?? bytes.count
            if sent < bytes.count { heldStdin.append(contentsOf: bytes[sent...]) }
        case .halfClose(.stdin):
            guard let id = streams[.stdin] else { return }
            if heldStdin.isEmpty { try? session.finish(id) } else { finAfterHeld = true }
        case .resize(let size):
            if let id = streams[.resize] { _ = size.encoded.withUnsafeBytes { try? session.sendData($0, on: id) } }
        default:
            break
        }
    }

    public var pendingBytes: Int { (connection?.outputCount ?? 0) + queued.stdin.count + heldStdin.count }

    private var heldStdin: [UInt8] = []
    private var finAfterHeld = false

    public func spdySession(_ s: SPDYSession, didUpdateSendWindow id: UInt32) {
        guard !heldStdin.isEmpty, let stdin = streams[.stdin] else { return }
        let sent = heldStdin.withUnsafeBytes { (try? s.sendData($0, on: stdin)) ?? $0.count }
        heldStdin.removeFirst(sent)
        if heldStdin.isEmpty && finAfterHeld {
            finAfterHeld = false
            try? s.finish(stdin)
        }
        delegate?.endpointDidDrain(self)
    }

    public func setReading(_ on: Bool) {
        if on { connection?.resumeReading() } else { connection?.pauseReading() }
    }

    public func terminate(_ reason: EndReason) {
        pingTimer?.cancel()
        guard !finished else { return }
        finished = true
        session?.goAway(status: .ok)
        connection?.closeGracefully(linger: 1)
    }
}
