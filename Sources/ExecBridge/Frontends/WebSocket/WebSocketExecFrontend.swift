import ExecModel
import Logging
import Reactor
import WebSocket

/// The third generation toward a client: one exec session carried by the WebSocket channel
/// protocol (spec §6), over an upgraded HTTP/1.1 socket or an HTTP/2 extended CONNECT stream
/// (both behind `WebSocketTransport`).
///
/// There is no stream creation: the channels are the ones the query asks for, and the session
/// starts right after the upgrade, behind the "connected" marker. stdin is channel 0 (its v5 close
/// signal is the half-close), resize channel 4; output goes out in ≤ 32 KiB messages; the end is
/// the status on channel 3 (per version), a close frame 1000, then the transport closes once the
/// client answered the close (or after the linger time), so no reset can eat unread output.
final class WebSocketExecFrontend: SessionEndpoint, WebSocketConnectionDelegate {
    let subprotocol: WebSocketSubprotocol
    private var transport: WebSocketTransport?
    private let request: ExecRequest
    private let context: RequestContext
    private let launcher: SessionLauncher
    private let ws: WebSocketConnection
    private let writer: ChannelMessageWriter
    private let reader: ChannelMessageReader
    private var bridge: Bridge?
    private var resize = ResizeDecoder()
    private var resizeBroken = false
    private var stdinClosed = false
    private var keepalive: LoopTimer?
    private var lingerTimer: LoopTimer?
    private var sawTraffic = false
    /// The status went out or the client is gone: no more session events either way.
    private var ended = false
    /// The transport was told to finish.
    private var closing = false

    private var config: BridgeConfig { launcher.bridge }
    private var logger: Logger { launcher.logger }

    init(transport: WebSocketTransport, request: ExecRequest, subprotocol: WebSocketSubprotocol,
         context: RequestContext, launcher: SessionLauncher) {
        self.transport = transport
        self.request = request
        self.subprotocol = subprotocol
        self.context = context
        self.launcher = launcher
        ws = WebSocketConnection(role: .server)
        writer = ChannelMessageWriter(base64: subprotocol.base64)
        reader = ChannelMessageReader(base64: subprotocol.base64, closeSignal: subprotocol.version >= .v5)
        ws.delegate = self
    }

    /// Right after the 101 (or the 200 of a CONNECT stream): the marker, then the session.
    func start() {
        // kubelet's createWebSocketStreams: an empty message on the lowest writable channel tells
        // the client the streams exist (client-go waits for nothing else).
        let marker: Channel = request.stdout ? .stdout : request.stderr ? .stderr : .error
        send(marker, UnsafeRawBufferPointer(start: nil, count: 0))
        transport?.flush()
        guard let transport else { return }
        keepalive = LoopTimer(loop: transport.loop, after: config.keepaliveInterval, repeats: true) { [weak self] in
            self?.keepaliveTick()
        }
        // Nothing can come before the session here: the client's frames are read after this.
        launcher.start(request, context: context, frontend: self, replaying: PendingInput(limit: 0)) { self.bridge = $0 }
    }

    // MARK: From the transport

    func transportReceived(_ bytes: UnsafeRawBufferPointer) {
        sawTraffic = true
        ws.receive(bytes)
        transport?.flush()
    }

    func transportDrained() {
        bridge?.endpointDidDrain(self)
    }

    func transportClosed() {
        transport = nil
        lingerTimer?.cancel()
        keepalive?.cancel()
        if !ended { clientLeft("connection closed") }
    }

    // MARK: WebSocketConnectionDelegate

    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer) {
        transport?.write(bytes)
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode) {
        reader.start()
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer) {
        do throws(ChannelMessageReader.Failure) {
            try reader.feed(bytes) { deliver($0) }
        } catch {
            channelError(error)
        }
    }

    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection) {
        do throws(ChannelMessageReader.Failure) {
            try reader.end { deliver($0) }
        } catch {
            channelError(error)
        }
    }

    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String) {
        if ended {
            closeTransport() // the answer to our close: the client has read everything
        } else {
            clientLeft("client closed the WebSocket (\(code.map { "\($0)" } ?? "no code"))")
        }
    }

    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String) {
        logger.info("WebSocket protocol error from client", metadata: ["code": "\(code)", "reason": "\(reason)"])
        if ended { closeTransport() } else { clientLeft("WebSocket protocol error \(code)") }
    }

    // MARK: Channels

    private func deliver(_ event: ChannelMessageReader.Event) {
        guard !ended, let bridge else { return }
        switch event {
        case .data(Channel.stdin.rawValue, let bytes):
            guard request.stdin, !stdinClosed else { return }
            bridge.endpoint(self, emitted: .data(.stdin, bytes))
        case .data(Channel.resize.rawValue, let bytes):
            guard request.expectedChannels.contains(.resize), !resizeBroken else { return }
            do {
                for size in try resize.feed(bytes) { bridge.endpoint(self, emitted: .resize(size)) }
            } catch {
                // As the kubelet: a broken resize channel is ignored from then on, the session goes on.
                resizeBroken = true
                logger.info("bad resize data from client; ignoring the resize channel", metadata: ["error": "\(error)"])
            }
        case .data(let channel, _):
            // Channels 1–3 carry nothing from a client; numbers beyond are dropped before v5.
            if subprotocol.version >= .v5 && channel > Channel.resize.rawValue {
                violation("message on unknown channel \(channel)")
            }
        case .closeSignal(let channel):
            switch channel {
            case Channel.stdin.rawValue:
                guard request.stdin, !stdinClosed else { return }
                stdinClosed = true
                bridge.endpoint(self, emitted: .halfClose(.stdin))
            case 1...Channel.resize.rawValue:
                break // nothing flows from the client there: nothing to close
            default:
                violation("close signal for unknown channel \(channel)")
            }
        }
    }

    private func channelError(_ error: ChannelMessageReader.Failure) {
        switch error {
        case .badBase64:
            // wsstream drops such a message and goes on.
            logger.info("dropping a message with invalid base64", metadata: ["error": "\(error)"])
        case .badCloseSignal:
            violation("\(error)")
        }
    }

    /// The channel protocol was broken: close with 1002 and end the session.
    private func violation(_ reason: String) {
        logger.info("WebSocket channel protocol error from client", metadata: ["reason": "\(reason)"])
        ws.close(code: .protocolError, reason: reason)
        transport?.flush()
        clientLeft(reason)
    }

    private func send(_ channel: Channel, _ bytes: UnsafeRawBufferPointer) {
        sawTraffic = true
        let ws = self.ws
        writer.write(channel: channel.rawValue, bytes) { isText, head, body in
            if isText { ws.sendText(head, body) } else { ws.sendBinary(head, body) }
        }
    }

    private func keepaliveTick() {
        if !sawTraffic, !ended {
            ws.ping()
            transport?.flush()
        }
        sawTraffic = false
    }

    // MARK: Ending

    /// The client can take no further part (closed, broke the protocol, vanished): the bridge ends
    /// the command, then `terminate(.clientGone)` closes what is left of the transport.
    private func clientLeft(_ why: String) {
        guard !ended else { return }
        ended = true
        keepalive?.cancel()
        logger.debug("WebSocket client left", metadata: ["why": "\(why)"])
        if let bridge {
            self.bridge = nil
            bridge.endpoint(self, didEnd: .clientGone)
        } else {
            closeTransport()
        }
    }

    /// Status on channel 3 (v4/v5 always; earlier versions only on failure), then close 1000;
    /// the transport closes when the client answers the close, or after the linger time.
    private func finish(with status: ExecStatus) {
        guard !ended else { return }
        ended = true
        keepalive?.cancel()
        bridge = nil
        let bytes = status.encoded(for: request.version)
        if !bytes.isEmpty { bytes.withUnsafeBytes { send(.error, $0) } }
        ws.close(code: .normalClosure)
        guard let transport else { return }
        transport.flush()
        transport.setReading(true) // the client's close must be heard even if stdin was paused
        lingerTimer = LoopTimer(loop: transport.loop, after: config.closeLinger) { [weak self] in
            self?.closeTransport()
        }
    }

    private func closeTransport() {
        lingerTimer?.cancel()
        lingerTimer = nil
        keepalive?.cancel()
        guard !closing, let transport else { return }
        closing = true
        transport.setReading(true)
        transport.flush()
        transport.finish(linger: config.closeLinger)
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard !ended else { return }
        switch event {
        case .data(let channel, let bytes):
            guard channel == .stdout || channel == .stderr, !bytes.isEmpty else { return }
            send(channel, bytes)
            transport?.flush()
        case .halfClose, .resize:
            break // no per-channel end toward the client: the close frame ends everything
        case .exit(let status):
            finish(with: status)
        }
    }

    var pendingBytes: Int { transport?.pendingBytes ?? 0 }

    func setReading(_ on: Bool) {
        guard !ended else { return }
        transport?.setReading(on)
    }

    func terminate(_ reason: EndReason) {
        bridge = nil
        switch reason {
        case .completed:
            break // finish(with:) already sent the status and the close
        case .clientGone:
            ended = true
            closeTransport()
        case .backendGone, .timeout, .shutdown:
            finish(with: .internalError("session ended: \(reason.rawValue)"))
        }
    }
}
