import ExecModel
import HTTP2

/// Opening streams: each HEADERS that opens a stream is a plain request, a channel of a channel
/// session that exists, or a new session, which is routed and admitted on its own (identity and
/// authorization are never inherited from another stream of the connection).
extension HTTP2ServerConnection {
    func openStream(_ stream: Int32, headers: [HTTP2Header], endStream: Bool) {
        let method = headers.first(":method") ?? ""
        let path = headers.first(":path") ?? ""
        // Health checks first: a load balancer's probe costs no exec routing.
        if method == "GET" || method == "HEAD", let answer = services.pipeline.probe(target: path) {
            return respond(stream, probe: answer)
        }
        if method == "CONNECT" {
            guard state == .open else { return refuse(stream) }
            if extendedConnect(stream, headers: headers) { return }
            respond(stream, error: RequestError(code: 501, reason: "NotImplemented",
                                                message: "CONNECT is not supported here"))
            return
        }
        let token = headers.first("exec-session")
        if let token, !HTTP2ChannelSessions.isValidToken(token) {
            respond(stream, error: .badRequest("exec-session must be 1 to 64 visible ASCII characters"))
            return
        }
        let streamType = headers.first("streamtype")
        let offered = VersionNegotiation.splitOffers(headers.filter { $0.name == "x-stream-protocol-version" }.map(\.value))
        let channelMode = streamType != nil || !offered.isEmpty
        if channelMode {
            // A channel of a session that exists: it shares that session's admission.
            if let session = channelSessions.session(named: token) {
                guard session.additionalStream(stream, method: method, path: path, headers: headers) else { return }
                execStreams[stream] = session
                if endStream { session.streamEnded(stream) }
                return
            }
            if let token, channelSessions.isCompleted(token) { return refuse(stream) }
        }
        // A new session; a connection that is ending takes none.
        guard state == .open else { return refuse(stream) }
        let context = RequestContext(method: method, target: path, headers: headers.map { ($0.name, $0.value) },
                                     connection: connection)
        guard let routed = services.pipeline.route(method: method, target: path, context: context) else {
            return answerPlain(stream, method: method, path: path, context: context)
        }
        var request: ExecRequest
        switch routed {
        case .failure(let error):
            if channelMode, let token { channelSessions.refused(token: token) }
            return respond(stream, error: error)
        case .success(let routedRequest):
            request = routedRequest
        }
        if request.kind == .portForward {
            return portForwardStream(stream, request: request, context: context, headers: headers, method: method,
                                     endStream: endStream)
        }
        if let error = services.pipeline.admit(&request, context: context) {
            if channelMode, let token { channelSessions.refused(token: token) }
            return respond(stream, error: error)
        }
        // A session whose first channel is missing or unknown could never start: refused now (and
        // its place given back) rather than left waiting for the creation timeout.
        if channelMode, streamType.flatMap({ Channel(streamType: $0.lowercased()) }) == nil {
            services.pipeline.notStarted(request, context: context,
                                         error: .badRequest("the first stream of a session needs a known streamtype"))
            if let token { channelSessions.refused(token: token) }
            return refuse(stream)
        }
        request.generation = .http2
        let session: HTTP2ExecSession
        if channelMode {
            switch VersionNegotiation.negotiate(offered: offered, supported: ServedVersions.http2) {
            case .failure(let error):
                services.pipeline.notStarted(request, context: context, error: error)
                if let token { channelSessions.refused(token: token) }
                return respond(stream, error: error)
            case .success(let version):
                request.version = version
                request.offeredVersions = offered
            }
            session = HTTP2ExecSession(owner: self, request: request, context: context,
                                       mode: .channels(upgradeStream: nil), token: token)
            channelSessions.add(session, token: token)
        } else {
            // A plain HTTP/2 client (curl): the stream is the session; the status goes in trailers.
            request.version = .v4
            session = HTTP2ExecSession(owner: self, request: request, context: context,
                                       mode: .single(stream: stream), token: nil)
        }
        register(session, stream: stream)
        session.begin(onStream: stream, streamType: streamType)
        if endStream { session.streamEnded(stream) }
    }

    /// A session of this connection, with the stream that opened it.
    func register(_ session: HTTP2ExecSession, stream: Int32) {
        execStreams[stream] = session
        liveExec[ObjectIdentifier(session)] = session
    }

    /// A session ended (completed, failed or lost its client): the others go on. A connection that
    /// drains closes once the last one ended.
    func sessionEnded(_ session: HTTP2ExecSession) {
        liveExec.removeValue(forKey: ObjectIdentifier(session))
        if let token = session.token { channelSessions.ended(token: token) }
        afterSessionEnd()
    }

    func webSocketEnded(_ webSocket: HTTP2WebSocketStream) {
        afterSessionEnd()
    }

    private func afterSessionEnd() {
        guard state != .closed else { return }
        if state == .draining, !hasLiveSession { closeWhenDone() }
        flush()
        if h2.isIdle { becameIdle() }
    }

    private func answerPlain(_ stream: Int32, method: String, path: String, context: RequestContext) {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        if let answer = services.pipeline.plain(PlainRequest(method: method, path: parts.first ?? path,
                                                           query: parts.count > 1 ? parts[1] : nil, context: context)) {
            respond(stream, status: answer.status, contentType: answer.contentType, body: answer.body,
                    extra: answer.headers.map { HTTP2Header($0.name.lowercased(), $0.value) })
        } else {
            respond(stream, error: .notFound("the server could not find the requested resource"))
        }
    }
}
