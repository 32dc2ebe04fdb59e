import ExecModel
import HTTP2
import Logging
import Reactor

/// One exec session of an HTTP/2 connection, as a `SessionEndpoint`. The connection carries
/// many (spec §5 item 8); this one touches only its own streams.
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

    // Internal rather than private: the SessionEndpoint side lives in HTTP2ExecSession+Endpoint.swift.
    /// Weak: the connection may close and go while the bridge (which holds this session) still
    /// delivers the child's last output. What the session needs beyond it is its own.
    weak var owner: HTTP2ServerConnection?
    let h2: HTTP2Session
    let loop: EventLoop
    let config: BridgeConfig
    let launcher: SessionLauncher
    let logger: Logger
    var request: ExecRequest
    let context: RequestContext
    let mode: Mode
    /// `exec-session` of a channel session that has one.
    let token: String?
    var streams: [Channel: Int32] = [:]
    var channels: [Int32: Channel] = [:]
    var endedOutputs: Set<Channel> = []
    var bridge: Bridge?
    var resize = ResizeDecoder()
    var creationTimer: LoopTimer?
    /// stdin received but not yet credited back, while the backend is over budget.
    var owedCredit: [Int32: Int] = [:]
    var reading = true
    var ended = false
    /// Input sent before every channel existed (its stdin bounded by the stream windows).
    var pending: PendingInput
    /// Single-stream status trailers waiting for the end of the client's request.
    var heldTrailers: [HTTP2Header]?
    /// Bounds how long held trailers wait for a client that never ends its request.
    var lingerTimer: LoopTimer?

    init(owner: HTTP2ServerConnection, request: ExecRequest, context: RequestContext, mode: Mode, token: String?) {
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
        self.token = token
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
            if stream == upgradeStream {
                reply(stream, hasBody: true)
            } else {
                addChannel(stream, streamType: streamType)
            }
        }
    }

    /// Another channel stream for this session: false when refused (RST_STREAM REFUSED_STREAM).
    func additionalStream(_ stream: Int32, method: String, path: String, headers: [HTTP2Header]) -> Bool {
        guard case .channels = mode, !ended, path == request.path else {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.refusedStream)
            owner?.flush()
            return false
        }
        return addChannel(stream, streamType: headers.first("streamtype"))
    }

    @discardableResult
    func addChannel(_ stream: Int32, streamType: String?) -> Bool {
        guard let type = streamType, let channel = Channel(streamType: type.lowercased()),
              streams[channel] == nil, bridge == nil || channel == .resize else {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.refusedStream)
            owner?.flush()
            return false
        }
        streams[channel] = stream
        channels[stream] = channel
        reply(stream, hasBody: channel == .stdout || channel == .stderr || channel == .error)
        startIfReady()
        return true
    }

    func reply(_ stream: Int32, hasBody: Bool) {
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

    func startIfReady() {
        guard bridge == nil, !ended, request.expectedChannels.isSubset(of: Set(streams.keys)) else { return }
        start()
    }

    func start() {
        creationTimer?.cancel()
        creationTimer = nil
        launcher.start(request, context: context, frontend: self, replaying: pending.take()) { self.bridge = $0 }
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
        lingerTimer?.cancel()
        if !ended { clientGone() }
    }

    func outputDrained() {
        bridge?.endpointDidDrain(self)
    }

    /// nghttp2 refused output (the stream is no longer writable): the bytes cannot reach the
    /// client, so the session ends as the client's loss, never as delivered.
    func sendFailed(_ error: Error) {
        logger.info("cannot send to client: ending the session", metadata: ["error": "\(error)"])
        clientGone()
    }

    /// The client cannot see the result any more: the session ends, and its other streams are
    /// reset so that they do not linger on the connection (the other sessions go on).
    func clientGone() {
        guard !ended else { return }
        creationTimer?.cancel()
        markEnded()
        for stream in ownStreams where h2.isOpen(stream: stream) {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.cancel)
        }
        let bridge = self.bridge
        self.bridge = nil
        if let bridge {
            bridge.endpoint(self, didEnd: .clientGone)
        } else {
            context.admission.release()
        }
        owner?.flush()
    }

    /// Once: the connection stops counting this session as running.
    func markEnded() {
        guard !ended else { return }
        ended = true
        owner?.sessionEnded(self)
    }

    var ownStreams: [Int32] {
        switch mode {
        case .single(let s): return [s]
        case .channels(let upgrade): return Array(channels.keys) + (upgrade.map { [$0] } ?? [])
        }
    }

    func creationTimedOut() {
        guard bridge == nil, !ended else { return }
        logger.info("timed out waiting for client to create streams")
        launcher.creationTimedOut(request, context: context)
        finish(with: .internalError(SessionLauncher.creationTimeoutMessage))
    }
}
