import ExecModel
import HTTP2
import Logging
import Reactor

/// The one exec session of an HTTP/2 connection, as a `SessionEndpoint`.
///
/// Channel mode (spec §5 items 1–3): one client-opened stream per channel, told apart by
/// `streamtype`, each answered 200 as it arrives. Single-stream mode (item 7): the request body is
/// stdin, the response body carries stdout and stderr, trailers carry the status.
/// Flow control is the backpressure: stdin is credited back (`consume`) only as the backend takes
/// it, and output is queued only within the client's windows and the bridge's budget.
final class HTTP2ExecSession: SessionEndpoint {
    enum Mode {
        /// `upgradeStream` is stream 1 of an h2c upgrade, answered at once and ended with the session.
        case channels(upgradeStream: Int32?)
        case single(stream: Int32)
    }

    /// Weak: the connection may close and go while the bridge (which holds this session) still
    /// delivers the child's last output. What the session needs beyond it is its own.
    private weak var owner: HTTP2ServerConnection?
    private let h2: HTTP2Session
    private let loop: EventLoop
    private let config: BridgeConfig
    private let launcher: SessionLauncher
    private let logger: Logger
    private var request: ExecRequest
    private let context: RequestContext
    private let mode: Mode
    private var streams: [Channel: Int32] = [:]
    private var channels: [Int32: Channel] = [:]
    private var endedOutputs: Set<Channel> = []
    private var bridge: Bridge?
    private var resize = ResizeDecoder()
    private var creationTimer: LoopTimer?
    /// The backend begun at admission (its upstream dialled while the streams arrive).
    private var prepared: PreparedBackend?
    /// stdin received but not yet credited back, while the backend is over budget.
    private var owedCredit: [Int32: Int] = [:]
    private var reading = true
    private var ended = false
    /// Input sent before every channel existed (its stdin bounded by the stream windows).
    private var pending: PendingInput
    /// Single-stream status trailers waiting for the end of the client's request.
    private var heldTrailers: [HTTP2Header]?

    init(owner: HTTP2ServerConnection, request: ExecRequest, context: RequestContext, mode: Mode) {
        self.owner = owner
        self.h2 = owner.h2
        self.loop = owner.connection.loop
        self.config = owner.config
        self.launcher = owner.services.launcher
        self.pending = PendingInput(limit: owner.config.channelBudget)
        self.logger = owner.logger
        self.request = request
        self.context = context
        self.mode = mode
    }

    var isEnded: Bool { ended }

    func owns(_ stream: Int32) -> Bool {
        if channels[stream] != nil { return true }
        switch mode {
        case .single(let s): return s == stream
        case .channels(let upgrade): return upgrade == stream
        }
    }

    // MARK: Streams from the connection

    /// The stream that opened the session.
    func begin(onStream stream: Int32, streamType: String?) {
        switch mode {
        case .single:
            reply(stream, hasBody: true)
            start()
            // Nothing to read from a client that asked for no stdin: its body is ignored.
            if !request.stdin { owedCredit[stream] = nil }
        case .channels(let upgradeStream):
            creationTimer = launcher.creationTimer { [weak self] in self?.creationTimedOut() }
            prepared = launcher.prepare(request)
            if stream == upgradeStream {
                reply(stream, hasBody: true)
            } else {
                addChannel(stream, streamType: streamType)
            }
        }
    }

    func additionalStream(_ stream: Int32, method: String, path: String, headers: [HTTP2Header]) {
        guard case .channels = mode, !ended, path == request.path else {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.refusedStream)
            owner?.flush()
            return
        }
        addChannel(stream, streamType: headers.first("streamtype"))
    }

    private func addChannel(_ stream: Int32, streamType: String?) {
        guard let type = streamType, let channel = Channel(streamType: type.lowercased()),
              streams[channel] == nil, bridge == nil || channel == .resize else {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.refusedStream)
            owner?.flush()
            return
        }
        streams[channel] = stream
        channels[stream] = channel
        reply(stream, hasBody: channel == .stdout || channel == .stderr || channel == .error)
        startIfReady()
    }

    private func reply(_ stream: Int32, hasBody: Bool) {
        var headers = [HTTP2Header(":status", "200")]
        if case .channels = mode { headers.append(HTTP2Header("x-stream-protocol-version", request.version.token)) }
        if case .single = mode { headers.append(HTTP2Header("content-type", "application/octet-stream")) }
        do {
            try h2.submitResponse(stream: stream, headers: headers, hasBody: hasBody)
        } catch {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
        }
        owner?.flush()
    }

    private func startIfReady() {
        guard bridge == nil, !ended, request.expectedChannels.isSubset(of: Set(streams.keys)) else { return }
        start()
    }

    private func start() {
        creationTimer?.cancel()
        creationTimer = nil
        launcher.start(request, context: context, frontend: self, replaying: pending.take(), prepared: prepared) { self.bridge = $0 }
        if reading { setReading(true) }
    }

    func data(_ bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard !ended else {
            // The answer is complete: what the client still sends is credited and dropped, so its
            // request can end cleanly (curl fails a stream it cannot finish sending).
            h2.consume(stream: stream, bytes: bytes.count)
            return
        }
        let channel: Channel?
        switch mode {
        case .single(let s): channel = (stream == s && request.stdin) ? .stdin : nil
        case .channels: channel = channels[stream]
        }
        switch channel {
        case .stdin where bridge != nil:
            bridge?.endpoint(self, emitted: .data(.stdin, bytes))
            if reading { h2.consume(stream: stream, bytes: bytes.count) } else { owedCredit[stream, default: 0] += bytes.count }
        case .stdin:
            // Before every channel exists the bytes wait here, uncredited: the client's stream
            // window (the channel budget) bounds them. They go to the backend at start.
            pending.append(stdin: bytes)
            owedCredit[stream, default: 0] += bytes.count
        case .resize:
            h2.consume(stream: stream, bytes: bytes.count)
            do {
                for size in try resize.feed(bytes) {
                    if let bridge { bridge.endpoint(self, emitted: .resize(size)) } else { pending.resized(size) }
                }
            } catch {
                h2.resetStream(stream, errorCode: HTTP2ErrorCode.protocolError)
            }
        default:
            h2.consume(stream: stream, bytes: bytes.count)
        }
        owner?.flush()
    }

    /// stdin that came as the body of an h2c upgrade request (single-stream mode).
    func upgradeBody(_ bytes: UnsafeRawBufferPointer) {
        guard case .single = mode, request.stdin else { return }
        bridge?.endpoint(self, emitted: .data(.stdin, bytes))
    }

    func streamEnded(_ stream: Int32) {
        if ended, case .single(let s) = mode, s == stream {
            // The request is complete now: the held status can end the response cleanly.
            submitHeldTrailers()
            return
        }
        let isStdin: Bool
        switch mode {
        case .single(let s): isStdin = stream == s && request.stdin
        case .channels: isStdin = channels[stream] == .stdin
        }
        guard isStdin else { return }
        if let bridge { bridge.endpoint(self, emitted: .halfClose(.stdin)) } else { pending.endStdin() }
    }

    func streamClosed(_ stream: Int32, errorCode: UInt32) {
        owedCredit[stream] = nil
        if case .single(let s) = mode, s == stream { heldTrailers = nil }
        guard !ended, errorCode != HTTP2ErrorCode.noError else { return }
        // The client reset a stream it reads from: it can no longer see the result.
        let reads: Bool
        switch mode {
        case .single(let s): reads = stream == s
        case .channels(let upgrade):
            let channel = channels[stream]
            reads = stream == upgrade || channel == .stdout || channel == .stderr || channel == .error
        }
        if reads { clientGone() }
    }

    func connectionClosed() {
        if !ended { clientGone() }
    }

    func outputDrained() {
        bridge?.endpointDidDrain(self)
    }

    /// nghttp2 refused output (the stream is no longer writable): the bytes cannot reach the
    /// client, so the session ends as the client's loss, never as delivered.
    private func sendFailed(_ error: Error) {
        logger.info("cannot send to client: ending the session", metadata: ["error": "\(error)"])
        clientGone()
    }

    private func clientGone() {
        guard !ended else { return }
        ended = true
        creationTimer?.cancel()
        prepared = nil
        let bridge = self.bridge
        self.bridge = nil
        bridge?.endpoint(self, didEnd: .clientGone)
    }

    private func creationTimedOut() {
        guard bridge == nil, !ended else { return }
        logger.info("timed out waiting for client to create streams")
        launcher.creationTimedOut(request, context: context)
        finish(with: .internalError(SessionLauncher.creationTimeoutMessage))
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard !ended else { return }
        switch event {
        case .data(let channel, let bytes):
            guard let stream = outputStream(for: channel) else { return }
            do { try h2.sendData(bytes, stream: stream) } catch { return sendFailed(error) }
            owner?.flush()
        case .halfClose(let channel):
            endedOutputs.insert(channel)
            if case .channels = mode, let stream = streams[channel], channel != .error {
                do { try h2.endStream(stream) } catch { return sendFailed(error) }
                owner?.flush()
            }
        case .resize:
            break
        case .exit(let status):
            finish(with: status)
        }
    }

    private func outputStream(for channel: Channel) -> Int32? {
        switch mode {
        case .single(let s): return channel == .stdout || channel == .stderr ? s : nil
        case .channels: return channel == .stdout || channel == .stderr ? streams[channel] : nil
        }
    }

    /// Ends every stream in order: outputs, then the status, then the upgrade stream; then the
    /// connection says GOAWAY and closes when the client is done.
    private func finish(with status: ExecStatus) {
        guard !ended else { return }
        ended = true
        creationTimer?.cancel()
        prepared = nil
        // stdin held back for a backend that is gone: credit it, so the client can end its request.
        for (stream, bytes) in owedCredit where bytes > 0 { h2.consume(stream: stream, bytes: bytes) }
        owedCredit.removeAll()
        pending.discard()
        switch mode {
        case .single(let stream):
            var trailers: [HTTP2Header] = []
            if let code = status.exitCode { trailers.append(HTTP2Header("exec-exit-code", String(code))) }
            trailers.append(HTTP2Header("exec-status", status.json))
            heldTrailers = trailers
            // While the client still sends its request, the status waits for the request's end
            // (curl 7.88 drops a response that ends first), bounded by the connection's linger.
            if !h2.peerMaySend(stream: stream) { submitHeldTrailers() }
        case .channels(let upgradeStream):
            for channel in [Channel.stdout, .stderr] where !endedOutputs.contains(channel) {
                if let stream = streams[channel] { teardown("END_STREAM") { try h2.endStream(stream) } }
            }
            if let stream = streams[.error] {
                let bytes = status.encoded(for: request.version)
                if !bytes.isEmpty { teardown("status") { _ = try bytes.withUnsafeBytes { try h2.sendData($0, stream: stream) } } }
                teardown("END_STREAM") { try h2.endStream(stream) }
            } else if bridge == nil {
                // No error stream to carry the failure: answer the upgrade stream with it, if any.
                if let stream = upgradeStream { h2.resetStream(stream, errorCode: HTTP2ErrorCode.cancel) }
            }
            if let stream = upgradeStream { teardown("END_STREAM") { try h2.endStream(stream) } }
        }
        bridge = nil
        owner?.sessionEnded()
    }

    /// A step of the teardown: the session already ended, so a refusal (the stream is gone) only
    /// costs the client its status. Said, not swallowed.
    private func teardown(_ step: String, _ body: () throws -> Void) {
        do { try body() } catch {
            logger.info("cannot send \(step) to the client", metadata: ["error": "\(error)"])
        }
    }

    /// Before the connection's final GOAWAY: a single-stream response is complete but the client is
    /// still sending its request. RST_STREAM(NO_ERROR) tells it the response stands and it may
    /// stop (RFC 9113 §8.1), rather than the stream dying unclean with the connection.
    func abortUnfinishedRequest() {
        guard ended, case .single(let stream) = mode, h2.peerMaySend(stream: stream) else { return }
        h2.resetAfterResponse(stream: stream)
        submitHeldTrailers()
    }

    private func submitHeldTrailers() {
        guard case .single(let stream) = mode, let trailers = heldTrailers else { return }
        heldTrailers = nil
        do { try h2.submitTrailers(stream: stream, headers: trailers) } catch {
            logger.info("cannot send the status trailers to the client", metadata: ["error": "\(error)"])
            teardown("END_STREAM") { try h2.endStream(stream) }
        }
        owner?.flush()
    }

    /// Output still queued in nghttp2 (waiting for the client's window).
    var outputPending: Bool {
        let outputs = Set([Channel.stdout, .stderr, .error].compactMap { streams[$0] } + singleStream)
        return outputs.contains { h2.pendingBytes(stream: $0) > 0 }
    }

    private var singleStream: [Int32] {
        if case .single(let s) = mode { return [s] }
        return []
    }

    var pendingBytes: Int {
        // In single-stream mode stdout and stderr share one stream: count it once.
        let outputs = Set([Channel.stdout, .stderr].compactMap { outputStream(for: $0) })
        return outputs.reduce(owner?.connection.outputCount ?? 0) { $0 + h2.pendingBytes(stream: $1) }
    }

    func setReading(_ on: Bool) {
        reading = on
        guard on else { return }
        for (stream, bytes) in owedCredit where bytes > 0 { h2.consume(stream: stream, bytes: bytes) }
        owedCredit.removeAll()
        owner?.flush()
    }

    func terminate(_ reason: EndReason) {
        switch reason {
        case .completed:
            break
        case .clientGone:
            // The client reset a stream it reads, or the socket went: the connection ends in order
            // (never closed here: this may run inside nghttp2's parsing of the client's bytes).
            ended = true
            owner?.sessionEnded()
        case .backendGone, .timeout, .shutdown:
            finish(with: .internalError("session ended: \(reason.rawValue)"))
        }
        bridge = nil
    }
}
