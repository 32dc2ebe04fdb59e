import ExecModel
import HTTP1
import HTTP2
import Reactor

/// The client side of the HTTP/2 exec generation (spec §5): by h2c upgrade, by prior knowledge,
/// or over TLS with ALPN h2. Channel streams are opened in client-go's order, each after the
/// previous answer; the first answer carries the negotiated version.
///
/// Like `SPDYExecClient` it is a `SessionEndpoint`, for the upstream backend and for tests.
public final class HTTP2ExecClient: ConnectionHandler, HTTP2SessionDelegate, SessionEndpoint {
    public enum Transport: Sendable { case priorKnowledge, upgrade, tls }

    public private(set) var version: ChannelVersion?
    public private(set) var isReady = false
    public private(set) var lastFailure: ExecStatus?

    private let options: ExecClientOptions
    private let transport: Transport
    private weak var delegate: SessionEndpointDelegate?
    private var connection: Connection?
    private var h2: HTTP2Session?
    private var answer = UpgradeAnswer()
    private var upgraded = false
    private var toOpen: [Channel] = []
    private var streams: [Channel: Int32] = [:]
    private var channels: [Int32: Channel] = [:]
    private var pendingOpen: Int32?
    /// `exec-session` of this session's channel streams: random, so unique on any shared connection.
    private let sessionToken: String = {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }()
    private var openOutputs: Set<Channel> = []
    private var errorBytes: [UInt8] = []
    private var errorEnded = false
    private var refusal: (status: Int, body: [UInt8])?
    private var finished = false
    /// Every callback checks it; closing never happens mid-parse (the codec reads the input in place).
    private var lifecycle: ConnectionLifecycle = .open
    private let safeClose = ParseSafeClose()
    private var reading = true
    private var owedCredit: [Int32: Int] = [:]
    /// Input written before the session is ready (the caller's pendingBytes check bounds it).
    private var queued = PendingInput(limit: .max)
    private let settings: HTTP2Settings
    private let pingInterval: Double
    private var pingTimer: LoopTimer?

    public init(options: ExecClientOptions, transport: Transport, delegate: SessionEndpointDelegate,
                pingInterval: Double = 5) {
        self.options = options
        self.transport = transport
        self.delegate = delegate
        self.pingInterval = pingInterval
        var settings = HTTP2Settings()
        settings.initialWindowSize = 256 * 1024
        self.settings = settings
    }

    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil) {
        connection = Connection.connect(loop: loop, to: address, tls: transport == .tls ? tls : nil,
                                        serverName: serverName, handler: self)
        if connection == nil { fail("cannot connect to \(address)") }
    }

    /// Runs on a connection that is already open (for `.tls`, with ALPN h2 agreed): the upstream
    /// backend dials it itself, with its connect timeout and TLS checks, then hands it over.
    public func start(on connection: Connection) {
        self.connection = connection
        connection.handler = self
        connectionDidConnect(connection)
        if connection.inputCount > 0 { connectionDidRead(connection) }
    }

    // MARK: ConnectionHandler

    public func connectionDidConnect(_ connection: Connection) {
        let session = HTTP2Session(role: .client, delegate: self, settings: settings)
        h2 = session
        if pingInterval > 0 {
            // client-go pings every 5 s; idle legs through load balancers stay open.
            pingTimer = LoopTimer(loop: connection.loop, after: pingInterval, repeats: true) { [weak self] in
                guard let self, self.upgraded, !self.finished, let h2 = self.h2 else { return }
                h2.ping()
                h2.flush()
            }
        }
        switch transport {
        case .upgrade:
            var headers = HTTPHeaders()
            headers.add("Host", options.authority)
            headers.add("Connection", "Upgrade, HTTP2-Settings")
            headers.add("Upgrade", "h2c")
            headers.add("HTTP2-Settings", HTTP2Session.settingsHeaderValue(settings))
            for version in options.versions { headers.add("X-Stream-Protocol-Version", version.token) }
            for (name, value) in options.headers { headers.add(name, value) }
            connection.write(HTTPRequestHead(method: options.method, target: options.path, headers: headers).serialized())
        case .priorKnowledge, .tls:
            do {
                try session.start()
                upgraded = true
                // The first stream is the error channel; its answer tells the version.
                toOpen = [.error]
                openNext()
            } catch {
                fail("HTTP/2 start failed: \(error)")
            }
        }
    }

    public func connectionDidRead(_ connection: Connection) {
        guard lifecycle != .closed else { return }
        safeClose.parse(connection) {
            if !upgraded { readUpgradeResponse(connection) }
            guard upgraded, let h2 else { return }
            connection.consumeInput { chunk in
                // Once closing for good, the rest is dropped unparsed.
                guard lifecycle != .closed, !safeClose.isPending else { return chunk.count }
                do { try h2.receive(chunk) } catch { fail("HTTP/2 error from server: \(error)") }
                return chunk.count
            }
        }
    }

    public func connectionDidDrain(_ connection: Connection) {
        h2?.flush()
        delegate?.endpointDidDrain(self)
    }

    public func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        lifecycle = .closed
        // Frames behind the one that closed us, in a buffer nghttp2 may be parsing, are dropped.
        h2?.halt()
        pingTimer?.cancel()
        guard !finished else { return }
        if let refusal { return refused(refusal.status, refusal.body) }
        if !upgraded, let refusal = answer.pendingRefusal { return complete(refusal) }
        finishWithStatus(closedEarly: true)
    }

    private func readUpgradeResponse(_ connection: Connection) {
        switch answer.read(connection) {
        case .needMore:
            return
        case .malformed(let message):
            fail("bad upgrade response: \(message)")
        case .refused(_, let status):
            complete(status)
        case .switched:
            do {
                try h2?.clientUpgraded(headRequest: options.method == "HEAD")
            } catch {
                return fail("h2c upgrade failed: \(error)")
            }
            upgraded = true
            pendingOpen = 1 // the upgrade request is stream 1; its answer carries the version
            h2?.flush()
        }
    }

    // MARK: Streams

    private func openNext() {
        guard let h2 else { return }
        guard !toOpen.isEmpty else {
            isReady = true
            var held = queued.take()
            held.replay { receive($0) }
            return
        }
        let channel = toOpen.removeFirst()
        var headers = [HTTP2Header(":method", "POST"), HTTP2Header(":path", options.path),
                       HTTP2Header(":scheme", transport == .tls ? "https" : "http"),
                       HTTP2Header(":authority", options.authority), HTTP2Header("streamtype", channel.streamType)]
        for version in options.versions { headers.append(HTTP2Header("x-stream-protocol-version", version.token)) }
        // Names this session among others on the connection (spec §5 item 8). Not after an h2c
        // upgrade: there the upgrade request (stream 1) opened the connection's unnamed session.
        if !upgraded { headers.append(HTTP2Header("exec-session", sessionToken)) }
        for (name, value) in options.headers { headers.append(HTTP2Header(name.lowercased(), value)) }
        do {
            let id = try h2.submitRequest(headers: headers, hasBody: channel == .stdin || channel == .resize)
            streams[channel] = id
            channels[id] = channel
            pendingOpen = id
            if channel == .stdout || channel == .stderr { openOutputs.insert(channel) }
            h2.flush()
        } catch {
            fail("cannot open the \(channel) stream: \(error)")
        }
    }

    // MARK: HTTP2SessionDelegate

    public func http2Session(_ s: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    public func http2Session(_ s: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                             endStream: Bool, isTrailer: Bool) {
        guard !isTrailer, stream == pendingOpen else { return }
        pendingOpen = nil
        let status = Int(headers.first(":status") ?? "") ?? 0
        guard status == 200 else {
            refusal = (status, [])
            return
        }
        if version == nil {
            let chosen = headers.first("x-stream-protocol-version")
            guard let v = chosen.flatMap(ChannelVersion.init(token:)) else {
                return fail("server chose no known channel version (\(chosen ?? "none"))")
            }
            version = v
            toOpen = options.channels(for: v).filter { streams[$0] == nil }
        }
        openNext()
    }

    public func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        if var refusal, channels[stream] == .error || stream == 1 {
            refusal.body.append(contentsOf: bytes)
            self.refusal = refusal
        }
        switch channels[stream] {
        case let channel? where channel == .stdout || channel == .stderr:
            delegate?.endpoint(self, emitted: .data(channel, bytes))
            if reading { s.consume(stream: stream, bytes: bytes.count) } else { owedCredit[stream, default: 0] += bytes.count }
        case .error?:
            if errorBytes.count < 64 * 1024 { errorBytes.append(contentsOf: bytes) }
            s.consume(stream: stream, bytes: bytes.count)
        default:
            s.consume(stream: stream, bytes: bytes.count)
        }
    }

    public func http2Session(_ s: HTTP2Session, didReceiveEndStream stream: Int32) {
        if let refusal, channels[stream] == .error || stream == 1 { return refused(refusal.status, refusal.body) }
        guard let channel = channels[stream] else { return }
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

    public func http2Session(_ s: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        owedCredit[stream] = nil
        if errorCode != 0, let channel = channels[stream], channel == .error || channel == .stdout || channel == .stderr {
            fail("server reset the \(channel) stream (code \(errorCode))")
        }
    }

    public func http2Session(_ s: HTTP2Session, streamCanSendMore stream: Int32) {
        delegate?.endpointDidDrain(self)
    }

    // MARK: Ending

    /// A channel stream answered with something other than 200 (its body is a Status).
    private func refused(_ status: Int, _ body: [UInt8]) {
        complete(ExecStatus.refusal(code: status, body: body))
    }

    private func finishWithStatus(closedEarly: Bool) {
        guard !finished else { return }
        guard let version else { return fail("connection closed before the session started") }
        // v1–v3 say nothing on success, so a server gone before ending its output streams is a
        // lost backend there too.
        let outputsOpen = !openOutputs.isEmpty
        for channel in openOutputs { delegate?.endpoint(self, emitted: .halfClose(channel)) }
        openOutputs.removeAll()
        if closedEarly && errorBytes.isEmpty && (version.hasStatusJSON || outputsOpen || !errorEnded) {
            return fail("lost connection to backend")
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
        h2?.terminate(errorCode: 0)
        h2?.flush()
        connection?.closeGracefully(linger: 1)
    }

    private func fail(_ message: String) {
        guard !finished else { return }
        finished = true
        pingTimer?.cancel()
        lastFailure = .internalError(message)
        delegate?.endpoint(self, didEnd: .backendGone)
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
    }

    /// Closes the socket at once, as a killed client would.
    public func abort() {
        finished = true
        lifecycle = lifecycle == .closed ? .closed : .closing
        safeClose.close(connection)
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        // Before the connection and every channel stream exist, input waits (bounded by the
        // caller's own pendingBytes check, which counts it).
        guard isReady, let h2 else {
            queued.hold(event)
            return
        }
        switch event {
        case .data(.stdin, let bytes):
            if let id = streams[.stdin] { _ = try? h2.sendData(bytes, stream: id) }
        case .halfClose(.stdin):
            if let id = streams[.stdin] { try? h2.endStream(id) }
        case .resize(let size):
            if let id = streams[.resize] { _ = size.encoded.withUnsafeBytes { try? h2.sendData($0, stream: id) } }
        default:
            break
        }
        h2.flush()
    }

    public var pendingBytes: Int {
        let stdin = streams[.stdin].map { h2?.pendingBytes(stream: $0) ?? 0 } ?? 0
        return stdin + (connection?.outputCount ?? 0) + queued.stdin.count
    }

    public func setReading(_ on: Bool) {
        reading = on
        guard on, let h2 else { return }
        for (stream, bytes) in owedCredit { h2.consume(stream: stream, bytes: bytes) }
        owedCredit.removeAll()
        h2.flush()
    }

    public func terminate(_ reason: EndReason) {
        pingTimer?.cancel()
        guard !finished else { return }
        finished = true
        if lifecycle != .closed { lifecycle = .closing }
        h2?.terminate(errorCode: reason == .completed ? 0 : HTTP2ErrorCode.cancel)
        h2?.flush()
        connection?.closeGracefully(linger: 1)
    }
}
