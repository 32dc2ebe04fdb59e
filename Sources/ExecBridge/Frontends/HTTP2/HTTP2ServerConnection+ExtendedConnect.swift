import ExecModel
import HTTP2
import Reactor

extension HTTP2ServerConnection {
    /// RFC 8441 Extended CONNECT: a stream `:method CONNECT`, `:protocol websocket`, `:path` an exec
    /// path carries the WebSocket channel protocol (spec §5 item 6): `:status 200` with the chosen
    /// `sec-websocket-protocol` (no key, no accept), then WebSocket frames in the stream's DATA.
    /// Returns false for a plain CONNECT (the caller answers 501); any other `:protocol` is 501 here.
    func extendedConnect(_ stream: Int32, headers: [HTTP2Header]) -> Bool {
        guard let proto = headers.first(":protocol") else { return false }
        guard proto.lowercased() == "websocket" else {
            respond(stream, error: RequestError(code: 501, reason: "NotImplemented",
                                                message: "the CONNECT protocol \"\(proto)\" is not supported; only websocket is"))
            return true
        }
        let path = headers.first(":path") ?? ""
        let context = RequestContext(method: "CONNECT", target: path, headers: headers.map { ($0.name, $0.value) },
                                     connection: connection)
        // CONNECT stands in for the GET of an HTTP/1.1 WebSocket upgrade (RFC 8441 §5).
        guard let routed = services.pipeline.route(method: "GET", target: path, context: context) else {
            respond(stream, error: .notFound("the server could not find the requested resource"))
            return true
        }
        var request: ExecRequest
        switch routed {
        case .failure(let error):
            respond(stream, error: error)
            return true
        case .success(let routedRequest):
            request = routedRequest
        }
        if request.kind == .portForward {
            let error = RequestError.badRequest("port-forward over WebSocket is not served on HTTP/2 extended CONNECT")
            services.pipeline.refusedBeforeAdmission(request, context: context, error: error)
            respond(stream, error: error)
            return true
        }
        if let version = headers.first("sec-websocket-version"), VersionNegotiation.splitOffers([version]) != ["13"] {
            let error = RequestError(code: 426, reason: "UpgradeRequired", message: "unsupported Sec-WebSocket-Version (only 13 is supported)",
                                     headers: [.init("Sec-WebSocket-Version", "13")])
            services.pipeline.refusedBeforeAdmission(request, context: context, error: error)
            respond(stream, error: error)
            return true
        }
        if let error = services.pipeline.admit(&request, context: context) {
            respond(stream, error: error)
            return true
        }
        let offered = VersionNegotiation.splitOffers(headers.filter { $0.name == "sec-websocket-protocol" }.map(\.value))
        switch ServedVersions.webSocket(offered: offered, request: request) {
        case .failure(let error):
            services.pipeline.notStarted(request, context: context, error: error)
            respond(stream, error: error)
        case .success(let (negotiated, subprotocol, echoed)):
            var answer = [HTTP2Header(":status", "200")]
            if let echoed { answer.append(HTTP2Header("sec-websocket-protocol", echoed)) }
            do {
                try h2.submitResponse(stream: stream, headers: answer, hasBody: true)
            } catch {
                h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
                flush()
                return true
            }
            let transport = HTTP2WebSocketStream(owner: self, stream: stream)
            let frontend = WebSocketExecFrontend(transport: transport, request: negotiated, subprotocol: subprotocol,
                                                 context: context, launcher: services.launcher)
            transport.frontend = frontend
            webSockets[stream] = transport
            frontend.start()
            flush()
        }
        return true
    }
}

/// One extended CONNECT stream as the byte pipe of a WebSocket exec session. Flow control is the
/// stdin backpressure: received DATA is credited back once the frontend processed it, and not
/// while the frontend is paused (the client's window then bounds what it can send).
final class HTTP2WebSocketStream: WebSocketTransport {
    /// Weak: the WebSocket frontend (which holds this transport) may outlive the connection.
    weak var owner: HTTP2ServerConnection?
    private let h2: HTTP2Session
    let loop: EventLoop
    let stream: Int32
    /// Strong until the stream or connection closes (the frontend holds this transport too).
    var frontend: WebSocketExecFrontend?
    private var reading = true
    private var owedCredit = 0
    /// END_STREAM was submitted (or the stream is gone): nothing more is written.
    private var ended = false

    init(owner: HTTP2ServerConnection, stream: Int32) {
        self.owner = owner
        self.h2 = owner.h2
        self.loop = owner.connection.loop
        self.stream = stream
    }

    var isEnded: Bool { ended }

    // MARK: From the connection

    func received(_ bytes: UnsafeRawBufferPointer) {
        frontend?.transportReceived(bytes)
        if reading { h2.consume(stream: stream, bytes: bytes.count) } else { owedCredit += bytes.count }
    }

    /// The client ended its side: no close frame can follow, so the session is over for it.
    func peerEnded() {
        finish(linger: 0)
        closed()
    }

    /// The stream closed (both sides ended, or reset) or the connection went away.
    func closed() {
        if !ended {
            ended = true
            owner?.webSocketEnded(self)
        }
        let frontend = self.frontend
        self.frontend = nil
        frontend?.transportClosed()
    }

    func drained() {
        frontend?.transportDrained()
    }

    /// Output still queued in nghttp2 (waiting for the client's window).
    var outputPending: Bool { h2.pendingBytes(stream: stream) > 0 }

    // MARK: WebSocketTransport

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard !ended else { return }
        do {
            try h2.sendData(bytes, stream: stream)
        } catch {
            // The stream is no longer writable: the session must not go on as if this was sent.
            owner?.logger.info("cannot send to client: ending the session", metadata: ["error": "\(error)"])
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
            closed()
        }
    }

    func flush() {
        owner?.flush()
    }

    /// This stream's queue only: the connection's socket is shared, and counting it here would
    /// pause this session for another's slow stream (the connection's `flush` bounds the socket).
    var pendingBytes: Int { h2.pendingBytes(stream: stream) }

    func setReading(_ on: Bool) {
        reading = on
        guard on, owedCredit > 0 else { return }
        h2.consume(stream: stream, bytes: owedCredit)
        owedCredit = 0
        owner?.flush()
    }

    func finish(linger: Double) {
        guard !ended else { return }
        ended = true
        do { try h2.endStream(stream) } catch {
            owner?.logger.info("cannot end the WebSocket stream", metadata: ["error": "\(error)"])
        }
        owner?.flush()
        // The connection closes once the client is done with it (or after its own linger).
        owner?.webSocketEnded(self)
    }
}
