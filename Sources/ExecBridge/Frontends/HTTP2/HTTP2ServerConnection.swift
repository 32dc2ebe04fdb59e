import ExecModel
import HTTP2
import Logging
import Reactor

/// The current generation toward a client: an HTTP/2 connection (h2c upgrade, prior knowledge,
/// or TLS with ALPN h2). Plain requests (health checks) are answered on their stream; every
/// single-stream request and extended CONNECT stream is a session of its own, and channel streams
/// form sessions grouped by `exec-session` (spec §5 item 8), each run by an `HTTP2ExecSession`.
/// Sessions are independent: one's end, failure or slow reader leaves the others and the
/// connection alone.
final class HTTP2ServerConnection: ConnectionHandler, HTTP2SessionDelegate, Drainable {
    let connection: Connection
    let services: ConnectionServices
    private(set) var h2: HTTP2Session!
    /// The exec session each open stream belongs to (several streams for a channel session).
    var execStreams: [Int32: HTTP2ExecSession] = [:]
    /// Exec sessions not yet ended, by identity: the connection stays while one runs.
    var liveExec: [ObjectIdentifier: HTTP2ExecSession] = [:]
    var channelSessions = HTTP2ChannelSessions()
    /// The WebSocket sessions of extended CONNECT streams (RFC 8441), by stream.
    var webSockets: [Int32: HTTP2WebSocketStream] = [:]
    /// Port-forward tunnels and pairs, once a port-forward stream came.
    var portForward: HTTP2PortForwardStreams?
    /// Where the connection is in its life. Every callback checks it: a frame parsed after the
    /// connection started to close must not open a session or reach a session that ended.
    var state: ConnectionLifecycle = .open
    var keepalive: LoopTimer?
    var sawTraffic = false
    /// When the keepalive PING still unanswered went out.
    var pingUnansweredSince: Double?
    /// No stream open since then (nil while one is): bounds a connection that says nothing.
    var idleSince: Double?
    var idleTimer: LoopTimer?
    var goAwaySent = false
    /// GOAWAY was decided inside a call into nghttp2: the socket closes on the next loop turn,
    /// once the call returned and GOAWAY is written.
    var closeTimer: LoopTimer?
    var lingerTimer: LoopTimer?
    /// `--trace-frames`: the decoded frames of this connection.
    let trace: ConnectionTrace?

    var config: BridgeConfig { services.launcher.bridge }
    var logger: Logger { services.launcher.logger }

    init(connection: Connection, services: ConnectionServices) {
        self.connection = connection
        self.services = services
        services.switched(connection, .http2)
        var settings = HTTP2Settings()
        settings.maxConcurrentStreams = UInt32(clamping: services.launcher.bridge.maxConcurrentStreams)
        settings.maxHeaderListSize = 64 * 1024
        // The client may send this much stdin before the backend took any.
        settings.initialWindowSize = UInt32(services.launcher.bridge.channelBudget)
        // RFC 8441: WebSocket clients behind an HTTP/2 hop reach the channel protocol by CONNECT.
        settings.enableConnectProtocol = true
        self.trace = services.launcher.beginTrace(.h2, upgrade: nil)
        self.h2 = HTTP2Session(role: .server, delegate: self, settings: settings)
        connection.setOutputLowWater(services.launcher.bridge.lowWater)
        keepalive = LoopTimer(loop: connection.loop, after: config.keepaliveInterval, repeats: true) { [weak self] in
            self?.keepaliveTick()
        }
        becameIdle()
    }

    /// A connection that spoke HTTP/2 from its first byte.
    static func priorKnowledge(connection: Connection, services: ConnectionServices) {
        let handler = HTTP2ServerConnection(connection: connection, services: services)
        connection.handler = handler
        do {
            try handler.h2.start()
        } catch {
            connection.close()
            return
        }
        handler.flush()
        if connection.inputCount > 0 { handler.connectionDidRead(connection) }
    }

    /// The h2c upgrade: the HTTP/1.1 request is stream 1.
    static func upgraded(connection: Connection, services: ConnectionServices, settingsHeader: String, headRequest: Bool,
                         request: ExecRequest, context: RequestContext, channelMode: Bool, body: [UInt8]) -> Bool {
        let handler = HTTP2ServerConnection(connection: connection, services: services)
        handler.trace?.upgraded(request, context: context)
        do {
            try handler.h2.upgradeFromHTTP1(http2SettingsHeader: settingsHeader, headRequest: headRequest)
        } catch {
            return false
        }
        connection.handler = handler
        let session = HTTP2ExecSession(owner: handler, request: request, context: context,
                                       mode: channelMode ? .channels(upgradeStream: 1) : .single(stream: 1), token: nil)
        handler.register(session, stream: 1)
        // Its channel streams carry no exec-session: they join it as the connection's unnamed session.
        if channelMode { handler.channelSessions.add(session, token: nil) }
        session.begin(onStream: 1, streamType: nil)
        // The upgrade request's body (read over HTTP/1.1) is all the stdin a single-stream
        // session gets: nothing more can arrive on stream 1.
        if !channelMode {
            if !body.isEmpty { body.withUnsafeBytes { session.upgradeBody($0) } }
            session.streamEnded(1)
        }
        handler.flush()
        if connection.inputCount > 0 { handler.connectionDidRead(connection) }
        return true
    }

    // MARK: Output

    /// Writes what nghttp2 has ready, unless the socket already holds a budget's worth: then the
    /// rest waits for `connectionDidDrain`, and nghttp2's queues (bounded) hold it.
    func flush() {
        guard state != .closed, connection.isOpen, connection.outputCount < config.channelBudget else { return }
        h2.flush()
        closeIfDone()
    }

    func respond(_ stream: Int32, status: Int, contentType: String, body: [UInt8], extra: [HTTP2Header] = []) {
        let headers = Self.responseHeaders(status: status, contentType: contentType, bodyCount: body.count, extra: extra)
        do {
            try h2.submitResponse(stream: stream, headers: headers, hasBody: !body.isEmpty)
            if !body.isEmpty {
                try body.withUnsafeBytes { _ = try h2.sendData($0, stream: stream) }
                try h2.endStream(stream)
            }
        } catch {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
        }
        flush()
    }

    static func responseHeaders(status: Int, contentType: String, bodyCount: Int, extra: [HTTP2Header]) -> [HTTP2Header] {
        var headers = [HTTP2Header(":status", String(status))]
        headers.append(HTTP2Header("content-type", contentType))
        headers.append(HTTP2Header("content-length", String(bodyCount)))
        headers.append(contentsOf: extra)
        return headers
    }

    func respond(_ stream: Int32, error: RequestError) {
        respond(stream, status: error.code, contentType: "application/json", body: Array(error.statusJSON.utf8),
                extra: error.headers.map { HTTP2Header($0.name.lowercased(), $0.value) })
    }

    // MARK: ConnectionHandler

    func connectionDidRead(_ connection: Connection) {
        sawTraffic = true
        connection.consumeInput { chunk in
            // Once closing for good, input is read and dropped: nothing more is parsed.
            guard state != .closed, !goAwaySent else { return chunk.count }
            trace?.client(chunk)
            do {
                try h2.receive(chunk)
            } catch {
                protocolError(error)
            }
            return chunk.count
        }
        closeIfDone()
    }

    func connectionDidDrain(_ connection: Connection) {
        guard state != .closed else { return }
        flush()
        for session in liveExec.values { session.outputDrained() }
        for webSocket in webSockets.values { webSocket.drained() }
        portForward?.drained()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        logger.debug("HTTP/2 connection closed", metadata: ["reason": "\(reason)", "state": "\(state)"])
        state = .closed
        // Frames behind the one that closed us, in the buffer nghttp2 is parsing, are dropped.
        h2.halt()
        trace?.end()
        keepalive?.cancel()
        idleTimer?.cancel()
        lingerTimer?.cancel()
        closeTimer?.cancel()
        let sessions = Array(liveExec.values)
        liveExec.removeAll()
        execStreams.removeAll()
        for session in sessions { session.connectionClosed() }
        let sockets = Array(webSockets.values)
        webSockets.removeAll()
        for webSocket in sockets { webSocket.closed() }
        portForward?.connectionClosed()
    }

    // MARK: HTTP2SessionDelegate

    func http2Session(_ s: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        trace?.server(bytes)
        connection.write(bytes)
    }

    func http2Session(_ s: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        guard !isTrailer, state != .closed else { return }
        idleSince = nil
        openStream(stream, headers: headers, endStream: endStream)
    }

    func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard state != .closed else { return }
        if !webSockets.isEmpty, let webSocket = webSockets[stream] {
            webSocket.received(bytes)
        } else if !execStreams.isEmpty, let exec = execStreams[stream] {
            exec.data(bytes, stream: stream)
        } else if let portForward, portForward.received(bytes, stream: stream) {
            // Credited by the tunnel as its bridge takes the bytes.
        } else {
            // A body nobody wants (plain requests, refused streams): credited as it arrives.
            s.consume(stream: stream, bytes: bytes.count)
        }
    }

    func http2Session(_ s: HTTP2Session, didReceiveEndStream stream: Int32) {
        // Emptiness first: a probe's stream is in neither, and a lookup hashes.
        guard state != .closed else { return }
        if !webSockets.isEmpty { webSockets[stream]?.peerEnded() }
        if !execStreams.isEmpty { execStreams[stream]?.streamEnded(stream) }
        portForward?.peerEnded(stream)
    }

    func http2Session(_ s: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        guard state != .closed else { return }
        if !webSockets.isEmpty { webSockets.removeValue(forKey: stream)?.closed() }
        if !execStreams.isEmpty { execStreams.removeValue(forKey: stream)?.streamClosed(stream, errorCode: errorCode) }
        portForward?.closed(stream, errorCode: errorCode)
        if h2.isIdle { becameIdle() }
    }

    func http2Session(_ s: HTTP2Session, streamCanSendMore stream: Int32) {
        guard state != .closed else { return }
        if let exec = execStreams[stream] { exec.outputDrained() } else { webSockets[stream]?.drained() }
        portForward?.canSendMore(stream)
    }

    func http2Session(_ s: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32) {
        clientWentAway()
    }

    func http2SessionDidReceivePingAck(_ s: HTTP2Session) {
        pingUnansweredSince = nil
    }
}
