import ExecModel
import HTTP1
import HTTP2
import Reactor

/// The client side of the HTTP/2 exec generation (spec §5): by h2c upgrade, by prior knowledge,
/// or over TLS with ALPN h2. Channel streams are opened in client-go's order (error first, with
/// the version offers), in one write: the server answers each as it arrives and any answer carries
/// the negotiated version; only resize, which some versions lack, waits for it.
///
/// One session's channel streams: they run on an `HTTP2ClientConnection`, either one of its
/// own (the CLI, tests, an h2c upgrade) or one a pool shares among sessions (the upstream
/// backend), where the `exec-session` header tells them apart (spec §5 item 8).
///
/// Like `SPDYExecClient` it is a `SessionEndpoint`, for the upstream backend and for tests.
public final class HTTP2ExecClient: HTTP2StreamSet, SessionEndpoint {
    public enum Transport: Sendable { case priorKnowledge, upgrade, tls }

    public private(set) var version: ChannelVersion?
    public private(set) var isReady = false
    public private(set) var lastFailure: ExecStatus?

    private let options: ExecClientOptions
    private let transport: Transport
    private weak var delegate: SessionEndpointDelegate?
    private var carrier: HTTP2ClientConnection?
    /// The connection of its own (not a pool's), watched until it is gone.
    private weak var ownConnection: HTTP2ClientConnection?
    private var upgraded = false
    /// `exec-session` of this session's streams (nil on an upgraded connection: there stream 1,
    /// the upgrade request, opened the connection's one unnamed session).
    private var sessionToken: String?
    private var streams: [Channel: Int32] = [:]
    private var channels: [Int32: Channel] = [:]
    /// Streams opened and not yet answered.
    private var pendingOpen: Set<Int32> = []
    private var openOutputs: Set<Channel> = []
    private var errorBytes: [UInt8] = []
    private var errorEnded = false
    private var refusal: (status: Int, body: [UInt8])?
    /// Pooled: channel streams refused (REFUSED_STREAM) before any answer told the version.
    private var refusedBeforeVersion: [Channel] = []
    private var finished = false
    private var reading = true
    private var owedCredit: [Int32: Int] = [:]
    /// Input written before the session is ready (the caller's pendingBytes check bounds it).
    private var queued = PendingInput(limit: .max)
    private let pingInterval: Double
    /// Pooled: the connection refused the session's first stream with REFUSED_STREAM (not
    /// processed, so safe to retry elsewhere: RFC 9113 §8.7), as an upstream that carries one
    /// session per connection does. Called instead of failing; the pool moves the session.
    var onRefused: ((HTTP2ExecClient, HTTP2ClientConnection) -> Void)?
    /// Prepared at admission: the error stream goes now (the upstream admits the session and
    /// negotiates), the others wait for `releaseChannels` (the client has all its streams): the
    /// upstream runs nothing before that, and the set-up then costs at most one round trip.
    var holdsChannels = false

    public init(options: ExecClientOptions, transport: Transport, delegate: SessionEndpointDelegate,
                pingInterval: Double = 5) {
        self.options = options
        self.transport = transport
        self.delegate = delegate
        self.pingInterval = pingInterval
    }

    /// The settings of a connection that carries exec sessions.
    static var settings: HTTP2Settings {
        var settings = HTTP2Settings()
        settings.initialWindowSize = 256 * 1024
        // Output in frames of up to half that window (the server's choice), not 16 KiB.
        settings.maxFrameSize = 1 << 20
        return settings
    }

    public func start(loop: EventLoop, address: SocketAddress, tls: TLSContext? = nil, serverName: String? = nil) {
        let carrier = ownCarrier(loop: loop)
        carrier.dial(to: address, tls: transport == .tls ? tls : nil, serverName: serverName, timeout: 30,
                     alpnRefusal: nil, describe: { _ in "cannot connect to \(address)" },
                     socketError: { _ in "cannot connect to \(address)" })
    }

    /// Runs on a connection that is already open (for `.tls`, with ALPN h2 agreed): the upstream
    /// backend dials it itself, with its connect timeout and TLS checks, then hands it over.
    public func start(on connection: Connection) {
        ownCarrier(loop: connection.loop).adopt(connection)
    }

    /// Runs on a connection shared with other sessions (a pool's): opens its streams as soon as
    /// the connection is up, and leaves it open when done.
    func start(sharing carrier: HTTP2ClientConnection, reserving streams: Int) {
        // Ended while the pool held it back (see HTTP2UpstreamPool.awaitingLimit): nothing to place.
        guard !finished else { return }
        self.carrier = carrier
        sessionToken = carrier.nextSessionToken()
        carrier.attach(self, reserving: streams)
        if carrier.phase == .ready { carrierReady(carrier, upgradedStream: nil) }
    }

    /// Moves a session refused before its first answer to `carrier` (see `onRefused`).
    func move(to carrier: HTTP2ClientConnection, reserving reserve: Int) {
        // Channel streams that went out beside the refused error stream are cancelled there.
        if let old = self.carrier { old.detach(self, resetting: Array(channels.keys), errorCode: HTTP2ErrorCode.cancel) }
        refusedBeforeVersion.removeAll()
        streams.removeAll()
        channels.removeAll()
        openOutputs.removeAll()
        pendingOpen = []
        start(sharing: carrier, reserving: reserve)
    }

    private func ownCarrier(loop: EventLoop) -> HTTP2ClientConnection {
        var upgrade: [UInt8]?
        if transport == .upgrade {
            var headers = HTTPHeaders()
            headers.add("Host", options.authority)
            headers.add("Connection", "Upgrade, HTTP2-Settings")
            headers.add("Upgrade", "h2c")
            headers.add("HTTP2-Settings", HTTP2Session.settingsHeaderValue(Self.settings))
            for version in options.versions { headers.add("X-Stream-Protocol-Version", version.token) }
            for (name, value) in options.headers { headers.add(name, value) }
            upgrade = HTTPRequestHead(method: options.method, target: options.path, headers: headers).serialized()
        }
        let carrier = HTTP2ClientConnection(loop: loop, settings: Self.settings, pingInterval: pingInterval,
                                              upgradeRequest: upgrade, closesWhenUnused: true)
        self.carrier = carrier
        ownConnection = carrier
        // A connection of its own still names its session: the server may carry several.
        if transport != .upgrade { sessionToken = Self.randomToken() }
        carrier.attach(self)
        return carrier
    }

    /// The connection of its own is gone. After the session the client says GOAWAY and the server,
    /// which keeps a connection for further sessions, closes on it: a caller driving the loop runs
    /// it until then.
    public var isClosed: Bool { ownConnection.map { $0.phase == .closed } ?? true }

    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }

    // MARK: HTTP2StreamSet

    func carrierReady(_ carrier: HTTP2ClientConnection, upgradedStream: Int32?) {
        guard !finished, streams.isEmpty, pendingOpen.isEmpty else { return }
        if let upgradedStream {
            upgraded = true
            // The upgrade request is stream 1; its answer carries the version.
            pendingOpen = [upgradedStream]
            return
        }
        openPending()
    }

    func carrier(_ carrier: HTTP2ClientConnection, headers: [HTTP2Header], stream: Int32, isTrailer: Bool) {
        guard !finished, !isTrailer, pendingOpen.remove(stream) != nil else { return }
        let status = Int(headers.first(":status") ?? "") ?? 0
        guard status == 200 else {
            // The first refusal stands (its error stream's body is the Status); later ones add nothing.
            if refusal == nil { refusal = (status, []) }
            return
        }
        if version == nil {
            let chosen = headers.first("x-stream-protocol-version")
            guard let v = chosen.flatMap(ChannelVersion.init(token:)) else {
                return fail("server chose no known channel version (\(chosen ?? "none"))")
            }
            version = v
            if let channel = refusedBeforeVersion.first {
                return fail("server refused the \(channel) stream (code \(HTTP2ErrorCode.refusedStream))")
            }
        }
        openPending()
    }

    func carrier(_ carrier: HTTP2ClientConnection, data bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard let h2 = carrier.h2 else { return }
        if var refusal, channels[stream] == .error || stream == 1 {
            refusal.body.append(contentsOf: bytes)
            self.refusal = refusal
        }
        switch channels[stream] {
        case let channel? where !finished && (channel == .stdout || channel == .stderr):
            delegate?.endpoint(self, emitted: .data(channel, bytes))
            if reading { h2.consume(stream: stream, bytes: bytes.count) } else { owedCredit[stream, default: 0] += bytes.count }
        case .error?:
            if errorBytes.count < 64 * 1024 { errorBytes.append(contentsOf: bytes) }
            h2.consume(stream: stream, bytes: bytes.count)
        default:
            h2.consume(stream: stream, bytes: bytes.count)
        }
    }

    func carrier(_ carrier: HTTP2ClientConnection, endStream stream: Int32) {
        guard !finished else { return }
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

    func carrier(_ carrier: HTTP2ClientConnection, closedStream stream: Int32, errorCode: UInt32) {
        owedCredit[stream] = nil
        guard !finished else { return }
        // A refused session's other channel streams are refused too: its error stream brings the Status.
        if refusal != nil, errorCode == HTTP2ErrorCode.refusedStream, channels[stream] != .error { return }
        if errorCode == HTTP2ErrorCode.refusedStream, version == nil, refusal == nil, onRefused != nil,
           let channel = channels[stream] {
            // Not processed (RFC 9113 §8.7). The error stream decides: refused too, the session moves
            // to another connection; answered, a channel refused before that fails the session.
            guard channel == .error, let onRefused else { return refusedBeforeVersion.append(channel) }
            self.onRefused = nil
            return onRefused(self, carrier)
        }
        if errorCode != 0, let channel = channels[stream], channel == .error || channel == .stdout || channel == .stderr {
            fail("server reset the \(channel) stream (code \(errorCode))")
        } else if errorCode != 0, pendingOpen.contains(stream) {
            // Refused before an answer (a GOAWAY that came first, a full server).
            fail("server refused the \(channels[stream].map { "\($0)" } ?? "upgrade") stream (code \(errorCode))")
        }
    }

    func carrierDrained(_ carrier: HTTP2ClientConnection) {
        delegate?.endpointDidDrain(self)
    }

    func carrierLost(_ carrier: HTTP2ClientConnection, detail: String, refusal: ExecStatus?) {
        guard !finished else { return }
        if let refusal { return complete(refusal) }
        if let pending = self.refusal { return refused(pending.status, pending.body) }
        if version == nil { return fail(detail) }
        finishWithStatus(closedEarly: true)
    }

    // MARK: Streams

    /// Opens every stream due now in one write, and marks the session ready once every channel of
    /// the chosen version is open and answered.
    private func openPending() {
        guard let carrier, carrier.phase == .ready else { return }
        let due = dueChannels()
        guard !due.isEmpty else {
            if version != nil, pendingOpen.isEmpty, !holdsChannels {
                isReady = true
                var held = queued.take()
                held.replay { receive($0) }
            }
            return
        }
        for channel in due where !finished { open(channel, on: carrier) }
        carrier.flush()
    }

    /// The channels to open now. Error, stdin, stdout and stderr are the same in every version, so
    /// they need not wait for the first answer (waiting cost a round trip per session); the server
    /// groups them by `exec-session` whatever the order of its answers. Resize exists only from v3:
    /// it waits for the version. On an h2c upgrade stream 1 is the session and the channels follow
    /// its answer; a relay holds all but the error stream (`holdsChannels`).
    private func dueChannels() -> [Channel] {
        if upgraded && version == nil { return [] }
        let wanted = options.channels(for: version ?? .v1)
        return wanted.filter { streams[$0] == nil && ($0 == .error || !holdsChannels) }
    }

    private func open(_ channel: Channel, on carrier: HTTP2ClientConnection) {
        var headers = [HTTP2Header(":method", "POST"), HTTP2Header(":path", options.path),
                       HTTP2Header(":scheme", transport == .tls ? "https" : "http"),
                       HTTP2Header(":authority", options.authority), HTTP2Header("streamtype", channel.streamType)]
        for version in options.versions { headers.append(HTTP2Header("x-stream-protocol-version", version.token)) }
        // Names this session among others on the connection (spec §5 item 8).
        if let sessionToken { headers.append(HTTP2Header("exec-session", sessionToken)) }
        for (name, value) in options.headers { headers.append(HTTP2Header(name.lowercased(), value)) }
        do {
            let id = try carrier.submitRequest(headers, hasBody: channel == .stdin || channel == .resize, for: self)
            streams[channel] = id
            channels[id] = channel
            pendingOpen.insert(id)
            if channel == .stdout || channel == .stderr { openOutputs.insert(channel) }
        } catch {
            fail("cannot open the \(channel) stream: \(error)")
        }
    }

    /// The client's session is complete: the held channel streams go (see `holdsChannels`).
    func releaseChannels() {
        guard holdsChannels else { return }
        holdsChannels = false
        if !finished { openPending() }
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
        lastFailure = status.exitCode == nil ? status : nil
        delegate?.endpoint(self, emitted: .exit(status))
        leave(errorCode: HTTP2ErrorCode.noError)
    }

    private func fail(_ message: String) {
        guard !finished else { return }
        finished = true
        lastFailure = .internalError(message)
        delegate?.endpoint(self, didEnd: .backendGone)
        leave(errorCode: HTTP2ErrorCode.cancel)
    }

    /// Off the connection: streams still open are reset; a connection of its own closes with it.
    private func leave(errorCode: UInt32) {
        guard let carrier else { return }
        self.carrier = nil
        carrier.detach(self, resetting: Array(channels.keys) + (upgraded ? [1] : []), errorCode: errorCode)
    }

    /// Closes the socket at once, as a killed client would.
    public func abort() {
        finished = true
        let carrier = self.carrier
        self.carrier = nil
        carrier?.abort()
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        // Before the connection and every channel stream exist, input waits (bounded by the
        // caller's own pendingBytes check, which counts it).
        guard isReady, let carrier, let h2 = carrier.h2 else {
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
        carrier.flush()
    }

    public var pendingBytes: Int {
        let stdin = streams[.stdin].map { carrier?.h2?.pendingBytes(stream: $0) ?? 0 } ?? 0
        return stdin + (carrier?.outputCount ?? 0) + queued.stdin.count
    }

    public func setReading(_ on: Bool) {
        reading = on
        guard on, let carrier, let h2 = carrier.h2 else { return }
        for (stream, bytes) in owedCredit { h2.consume(stream: stream, bytes: bytes) }
        owedCredit.removeAll()
        carrier.flush()
    }

    public func terminate(_ reason: EndReason) {
        guard !finished else { return }
        finished = true
        leave(errorCode: reason == .completed ? HTTP2ErrorCode.noError : HTTP2ErrorCode.cancel)
    }
}
