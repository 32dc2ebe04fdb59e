import ExecModel
import HTTP2
import Logging
import Reactor

/// The current generation toward a client: an HTTP/2 connection (h2c upgrade, prior knowledge,
/// or TLS with ALPN h2). Plain requests (health checks) are answered on their stream; the first
/// exec stream defines the connection's one session (spec §5), which `HTTP2ExecSession` runs.
final class HTTP2ServerConnection: ConnectionHandler, HTTP2SessionDelegate, Drainable {
    let connection: Connection
    let services: ConnectionServices
    private(set) var h2: HTTP2Session!
    private(set) var exec: HTTP2ExecSession?
    /// The WebSocket session of an extended CONNECT stream (RFC 8441), the other kind of session.
    var webSocket: HTTP2WebSocketStream?
    /// Streams whose request body nobody wants: credited back as it arrives.
    private var ignoredBodies: Set<Int32> = []
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
    private let trace: ConnectionTrace?

    var config: BridgeConfig { services.launcher.bridge }
    var logger: Logger { services.launcher.logger }

    init(connection: Connection, services: ConnectionServices) {
        self.connection = connection
        self.services = services
        services.switched(connection, .http2)
        var settings = HTTP2Settings()
        settings.maxConcurrentStreams = 16
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
                                       mode: channelMode ? .channels(upgradeStream: 1) : .single(stream: 1))
        handler.exec = session
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
        var headers = [HTTP2Header(":status", String(status))]
        headers.append(HTTP2Header("content-type", contentType))
        headers.append(HTTP2Header("content-length", String(body.count)))
        headers.append(contentsOf: extra)
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
        exec?.outputDrained()
        webSocket?.drained()
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
        exec?.connectionClosed()
        exec = nil
        webSocket?.closed()
        webSocket = nil
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
        let method = headers.first(":method") ?? ""
        let path = headers.first(":path") ?? ""
        if let exec {
            exec.additionalStream(stream, method: method, path: path, headers: headers)
            return
        }
        if webSocket != nil || state != .open {
            // One connection carries one session; one that is ending takes no new stream.
            refuse(stream)
            return
        }
        if method == "CONNECT" {
            if extendedConnect(stream, headers: headers) { return }
            ignoredBodies.insert(stream)
            respond(stream, error: RequestError(code: 501, reason: "NotImplemented",
                                                message: "CONNECT is not supported here"))
            return
        }
        let context = RequestContext(method: method, target: path, headers: headers.map { ($0.name, $0.value) },
                                     connection: connection)
        guard let routed = services.pipeline.route(method: method, target: path, context: context) else {
            ignoredBodies.insert(stream)
            let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
            if let answer = services.pipeline.plain(PlainRequest(method: method, path: parts.first ?? path,
                                                               query: parts.count > 1 ? parts[1] : nil, context: context)) {
                respond(stream, status: answer.status, contentType: answer.contentType, body: answer.body,
                        extra: answer.headers.map { HTTP2Header($0.name.lowercased(), $0.value) })
            } else {
                respond(stream, error: .notFound("the server could not find the requested resource"))
            }
            return
        }
        switch routed {
        case .failure(let error):
            ignoredBodies.insert(stream)
            respond(stream, error: error)
        case .success(var request):
            if let error = services.pipeline.admit(&request, context: context) {
                ignoredBodies.insert(stream)
                respond(stream, error: error)
                return
            }
            request.generation = .http2
            let streamType = headers.first("streamtype")
            let offered = VersionNegotiation.splitOffers(headers.filter { $0.name == "x-stream-protocol-version" }.map(\.value))
            let session: HTTP2ExecSession
            if streamType != nil || !offered.isEmpty {
                switch VersionNegotiation.negotiate(offered: offered, supported: ServedVersions.http2) {
                case .failure(let error):
                    ignoredBodies.insert(stream)
                    services.pipeline.notStarted(request, context: context, error: error)
                    respond(stream, error: error)
                    return
                case .success(let version):
                    request.version = version
                    request.offeredVersions = offered
                }
                session = HTTP2ExecSession(owner: self, request: request, context: context, mode: .channels(upgradeStream: nil))
            } else {
                // A plain HTTP/2 client (curl): the stream is the session; the status goes in trailers.
                request.version = .v4
                session = HTTP2ExecSession(owner: self, request: request, context: context, mode: .single(stream: stream))
            }
            exec = session
            session.begin(onStream: stream, streamType: streamType)
            if endStream { session.streamEnded(stream) }
        }
    }

    func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard state != .closed else { return }
        if let webSocket, webSocket.stream == stream {
            webSocket.received(bytes)
        } else if let exec, exec.owns(stream) {
            exec.data(bytes, stream: stream)
        } else {
            s.consume(stream: stream, bytes: bytes.count)
        }
    }

    func http2Session(_ s: HTTP2Session, didReceiveEndStream stream: Int32) {
        guard state != .closed else { return }
        if let webSocket, webSocket.stream == stream { webSocket.peerEnded() }
        if let exec, exec.owns(stream) { exec.streamEnded(stream) }
    }

    func http2Session(_ s: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        ignoredBodies.remove(stream)
        guard state != .closed else { return }
        if let webSocket, webSocket.stream == stream { webSocket.closed() }
        if let exec, exec.owns(stream) { exec.streamClosed(stream, errorCode: errorCode) }
        if h2.isIdle { becameIdle() }
    }

    func http2Session(_ s: HTTP2Session, streamCanSendMore stream: Int32) {
        guard state != .closed else { return }
        exec?.outputDrained()
        webSocket?.drained()
    }

    func http2Session(_ s: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32) {
        clientWentAway()
    }

    func http2SessionDidReceivePingAck(_ s: HTTP2Session) {
        pingUnansweredSince = nil
    }
}
