import ExecModel
import HTTP1
import Reactor
import WebSocket

/// The client side of the WebSocket exec generation (spec §6), as client-go's v5 executor behaves:
/// a GET upgrade offering the subprotocols in preference order (v5 then v4 by default), handshake
/// verification, masked frames, channel framing (binary or base64), stdin half-close by the v5
/// close signal `[255, 0]`, resize on channel 4, pings, and the status read from channel 3.
///
/// Below v5 the channel protocol has no stdin EOF: `.halfClose(.stdin)` cannot be sent and is
/// dropped (`stdinHalfCloseDropped` tells), so a command that reads stdin to its end never ends
/// on its own there; it ends when it exits by itself or the session is terminated.
///
/// Like the SPDY and HTTP/2 clients it is a `SessionEndpoint`: toward a `ws://` upstream it is the
/// gateway's backend session; in tests a small delegate collects its events.
public final class WebSocketExecClient: ConnectionHandler, WebSocketConnectionDelegate, SessionEndpoint {
    public private(set) var upgradeResponse: HTTPResponseHead?
    /// The subprotocol the server chose (`.unnamed` when none was offered and none echoed).
    public private(set) var subprotocol: WebSocketSubprotocol?
    public var version: ChannelVersion? { subprotocol?.version }
    /// Whether the upgrade is done (stdin may be sent from then on; earlier events are queued).
    public private(set) var isReady = false
    /// Why the session failed without a status from the server (for tests and the CLI).
    public private(set) var lastFailure: ExecStatus?
    /// A stdin half-close arrived on a version that cannot carry it (≤ v4).
    public private(set) var stdinHalfCloseDropped = false
    /// The server's close frame code, once it arrived.
    public private(set) var closeCode: WebSocketCloseCode?

    private let options: ExecClientOptions
    private let offered: [WebSocketSubprotocol]
    private weak var delegate: SessionEndpointDelegate?
    private var connection: Connection?
    /// RFC 8441: the session as an extended CONNECT stream on a shared HTTP/2 connection instead
    /// of a socket of its own (`start(sharing:)`).
    private var stream: HTTP2WebSocketClientStream?
    private var onUnsupported: ((String) -> Void)?
    private var handshake: WebSocketClientHandshake
    private var ws: WebSocketConnection?
    private var writer: ChannelMessageWriter?
    private var reader: ChannelMessageReader?
    private var errorBytes: [UInt8] = []
    private var openOutputs: Set<Channel> = []
    /// Input written before the session is ready (the caller's pendingBytes check bounds it).
    private var queued = PendingInput(limit: .max)
    private var finished = false
    /// Every callback checks it; closing never happens mid-parse (the codec reads the input in place).
    private var lifecycle: ConnectionLifecycle = .open
    private let safeClose = ParseSafeClose()
    private var pingTimer: LoopTimer?
    private let pingInterval: Double

    /// - Parameter subprotocols: offered in this order; empty sends no `Sec-WebSocket-Protocol`
    ///   (a client of the unnamed binary protocol).
    public init(options: ExecClientOptions, subprotocols: [WebSocketSubprotocol] = [.v5, .v4],
                delegate: SessionEndpointDelegate, pingInterval: Double = 5) {
        self.options = options
        self.offered = subprotocols
        self.handshake = WebSocketClientHandshake(offering: subprotocols.map(\.token))
        self.delegate = delegate
        self.pingInterval = pingInterval
    }

    /// Connects (`tls` for `wss://`) and upgrades. Everything after is reported through the delegate.
    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil) {
        connection = Connection.connect(loop: loop, to: address, tls: tls, serverName: serverName, handler: self)
        if connection == nil { fail("cannot connect to \(address)") }
    }

    /// Runs on a connection that is already open (the upstream backend dials it itself, with its
    /// connect timeout and TLS checks, then hands it over).
    public func start(on connection: Connection) {
        self.connection = connection
        connection.handler = self
        connectionDidConnect(connection)
        if connection.inputCount > 0 { connectionDidRead(connection) }
    }

    /// Runs as an RFC 8441 extended CONNECT stream on `carrier` (a pooled HTTP/2 connection).
    /// When the connection turns out unable to carry it, nothing was sent and `unsupported` is
    /// called instead of failing: the session may then `start(on:)` an HTTP/1.1 connection.
    func start(sharing carrier: HTTP2ClientConnection, unsupported: @escaping (String) -> Void) {
        onUnsupported = unsupported
        let stream = HTTP2WebSocketClientStream(owner: self, options: options, offered: offered.map(\.token))
        self.stream = stream
        stream.start(sharing: carrier)
    }

    // MARK: ConnectionHandler

    public func connectionDidConnect(_ connection: Connection) {
        connection.write(handshake.request(options))
    }

    public func connectionDidRead(_ connection: Connection) {
        guard lifecycle != .closed else { return }
        safeClose.parse(connection) {
            if ws == nil { readUpgradeResponse(connection) }
            guard let ws, connection.isOpen else { return }
            connection.consumeInput { chunk in
                // Once closing for good, the rest is dropped unparsed.
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
        if ws == nil, let refusal = handshake.pendingRefusal { return complete(refusal) }
        guard ws != nil else { return fail("connection closed before the upgrade (\(reason))") }
        // No close frame: whatever status arrived is final; none at all is a lost server for
        // v4+ (they always send one), and success for older versions.
        finishWithStatus(closedCleanly: false)
    }

    private func readUpgradeResponse(_ connection: Connection) {
        switch handshake.read(connection) {
        case .needMore:
            return
        case .malformed(let message):
            fail("bad upgrade response: \(message)")
        case .refused(let head, let status):
            upgradeResponse = head
            complete(status)
        case .badHandshake(let head, let error):
            upgradeResponse = head
            fail("bad WebSocket handshake: \(error)")
        case .accepted(let head, let chosen):
            upgradeResponse = head
            negotiated(chosen, loop: connection.loop)
        }
    }

    private func negotiated(_ chosen: String?, loop: EventLoop) {
        let subprotocol: WebSocketSubprotocol
        if let chosen {
            // RFC 8441 has no accept key to verify: the echoed subprotocol must be one offered.
            guard offered.contains(where: { $0.token == chosen }) || offered.isEmpty else {
                return fail("server chose a subprotocol it was not offered (\(chosen))")
            }
            guard let known = WebSocketSubprotocol(token: chosen) else { return fail("server chose unknown subprotocol \(chosen)") }
            subprotocol = known
        } else {
            // A server that echoes nothing speaks the unnamed protocol; client-go refuses that
            // after offering v5/v4, and so do we.
            guard offered.isEmpty else { return fail("server chose no subprotocol (offered \(offered.map(\.token)))") }
            subprotocol = .unnamed
        }
        self.subprotocol = subprotocol
        let ws = WebSocketConnection(role: .client)
        ws.delegate = self
        self.ws = ws
        writer = ChannelMessageWriter(base64: subprotocol.base64)
        reader = ChannelMessageReader(base64: subprotocol.base64, closeSignal: subprotocol.version >= .v5)
        if options.stdout { openOutputs.insert(.stdout) }
        if options.stderr { openOutputs.insert(.stderr) }
        isReady = true
        pingTimer = LoopTimer(loop: loop, after: pingInterval, repeats: true) { [weak self] in
            self?.ws?.ping()
        }
        var held = queued.take()
        held.replay { receive($0) }
    }

    // MARK: WebSocketConnectionDelegate

    public func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        if let stream { stream.write(bytes) } else { self.connection?.write(bytes) }
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {
        reader?.start()
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        do throws(ChannelMessageReader.Failure) {
            try reader?.feed(bytes) { deliver($0) }
        } catch {
            channelError(error)
        }
    }

    public func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        do throws(ChannelMessageReader.Failure) {
            try reader?.end { deliver($0) }
        } catch {
            channelError(error)
        }
    }

    public func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        closeCode = code
        finishWithStatus(closedCleanly: true)
    }

    public func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        fail("WebSocket protocol error from server (\(code)): \(reason)")
    }

    private func deliver(_ event: ChannelMessageReader.Event) {
        guard !finished else { return }
        switch event {
        case .data(let number, let bytes):
            switch Channel(rawValue: number) {
            case let channel? where channel == .stdout || channel == .stderr:
                if openOutputs.contains(channel) { delegate?.endpoint(self, emitted: .data(channel, bytes)) }
            case .error?:
                if errorBytes.count + bytes.count <= 64 * 1024 { errorBytes.append(contentsOf: bytes) }
            default:
                break
            }
        case .closeSignal(let number):
            if let channel = Channel(rawValue: number), openOutputs.remove(channel) != nil {
                delegate?.endpoint(self, emitted: .halfClose(channel))
            }
        }
    }

    private func channelError(_ error: ChannelMessageReader.Failure) {
        switch error {
        case .badBase64:
            break // the message is dropped, as wsstream does
        case .badCloseSignal:
            ws?.close(code: .protocolError, reason: "\(error)")
            fail("channel protocol error from server: \(error)")
        }
    }

    // MARK: Ending

    private func finishWithStatus(closedCleanly: Bool) {
        guard !finished, let version else { return }
        for channel in openOutputs.sorted(by: { $0.rawValue < $1.rawValue }) {
            delegate?.endpoint(self, emitted: .halfClose(channel))
        }
        openOutputs.removeAll()
        if errorBytes.isEmpty && version.hasStatusJSON {
            return fail(closedCleanly ? "server closed the session without a status" : "lost connection to server")
        }
        complete(ExecStatus.decode(errorBytes, version: version))
    }

    private func complete(_ status: ExecStatus) {
        guard !finished else { return }
        finished = true
        pingTimer?.cancel()
        lastFailure = status.exitCode == nil ? status : nil
        delegate?.endpoint(self, emitted: .exit(status))
        if lifecycle != .closed { lifecycle = .closing }
        ws?.close(code: .normalClosure)
        endPipe()
    }

    /// In order: what was written goes out first.
    private func endPipe() {
        if let stream {
            stream.flush()
            stream.finish()
            self.stream = nil
        }
        connection?.closeGracefully(linger: 1)
    }

    private func fail(_ message: String) {
        guard !finished else { return }
        finished = true
        pingTimer?.cancel()
        lastFailure = .internalError(message)
        delegate?.endpoint(self, didEnd: .backendGone)
        lifecycle = lifecycle == .closed ? .closed : .closing
        stream?.abort()
        stream = nil
        safeClose.close(connection)
    }

    /// Closes the socket at once, as a killed client would.
    public func abort() {
        finished = true
        pingTimer?.cancel()
        lifecycle = lifecycle == .closed ? .closed : .closing
        stream?.abort()
        stream = nil
        safeClose.close(connection)
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        guard isReady, let ws, let writer, let subprotocol else {
            queued.hold(event)
            return
        }
        let send: ChannelMessageWriter.Send = { isText, head, body in
            if isText { ws.sendText(head, body) } else { ws.sendBinary(head, body) }
        }
        switch event {
        case .data(.stdin, let bytes):
            guard options.stdin, !bytes.isEmpty else { return }
            writer.write(channel: Channel.stdin.rawValue, bytes, send: send)
        case .halfClose(.stdin):
            guard options.stdin else { return }
            if subprotocol.version >= .v5 {
                writer.writeCloseSignal(channel: Channel.stdin.rawValue, send: send)
            } else {
                stdinHalfCloseDropped = true
            }
        case .resize(let size):
            guard options.tty, subprotocol.version.hasResize else { return }
            size.encoded.withUnsafeBytes { writer.write(channel: Channel.resize.rawValue, $0, send: send) }
        default:
            break
        }
        stream?.flush()
    }

    public var pendingBytes: Int { (stream?.pendingBytes ?? connection?.outputCount ?? 0) + queued.stdin.count }

    public func setReading(_ on: Bool) {
        stream?.setReading(on)
        if on { connection?.resumeReading() } else { connection?.pauseReading() }
    }

    public func terminate(_ reason: EndReason) {
        pingTimer?.cancel()
        guard !finished else { return }
        finished = true
        ws?.close(code: reason == .completed ? .normalClosure : .goingAway)
        endPipe()
    }
}

/// RFC 8441: what the extended CONNECT stream reports stands for the socket's events.
extension WebSocketExecClient: HTTP2WebSocketStreamOwner {
    func streamAccepted(subprotocol: String?) {
        guard !finished, let loop = stream?.loop else { return }
        negotiated(subprotocol, loop: loop)
        stream?.flush()
    }

    func streamRefused(_ status: ExecStatus) {
        stream = nil
        complete(status)
    }

    func streamReceived(_ bytes: UnsafeRawBufferPointer) {
        guard lifecycle != .closed else { return }
        ws?.receive(bytes)
    }

    func streamDrained() {
        delegate?.endpointDidDrain(self)
    }

    func streamClosed(_ detail: String) {
        stream = nil
        lifecycle = .closed
        pingTimer?.cancel()
        guard !finished else { return }
        guard ws != nil else { return fail("upstream stream closed before the answer: \(detail)") }
        finishWithStatus(closedCleanly: false)
    }

    func streamUnsupported(_ detail: String) {
        stream = nil
        let unsupported = onUnsupported
        onUnsupported = nil
        unsupported?(detail)
    }
}
