import ExecModel
import HTTP1
import Logging
import Reactor

/// Serves HTTP/1.1 on a fresh connection until an exec request upgrades it: health checks,
/// errors as Kubernetes Status bodies, and the hand-off to a frontend.
final class HTTP1ServerHandler: ConnectionHandler, Drainable {
    private enum State { case sniffing, readingHead, skippingBody(Int), upgradeBody(HTTPRequestHead, ExecRequest, RequestContext, Int), handedOff, closing }

    /// An h2c upgrade request's body is read whole before the switch (RFC 9113 §3.2 left this to
    /// HTTP/1.1); it is stdin of a single-stream session. Bounded.
    static let maxUpgradeBody = 1024 * 1024
    private var upgradeBody: [UInt8] = []

    private let connection: Connection
    private let services: ConnectionServices
    private var pipeline: RequestPipeline { services.pipeline }
    private var parser: HTTPRequestParser
    private var state: State = .sniffing
    private var headTimer: LoopTimer?
    private var receivedSinceLastRequest = false
    private var draining = false

    init(connection: Connection, services: ConnectionServices) {
        self.connection = connection
        self.services = services
        self.parser = HTTPRequestParser(limits: services.headLimits)
        armHeadTimer(services.headTimeout)
    }

    private var logger: Logger { services.launcher.logger }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: Connection) {
        // A TLS handshake finished: ALPN h2 means HTTP/2 from the first byte.
        if connection.negotiatedALPN == "h2", case .sniffing = state {
            handOffToHTTP2()
        }
    }

    func connectionDidRead(_ connection: Connection) {
        while connection.isOpen, connection.inputCount > 0 {
            switch state {
            case .sniffing:
                if connection.negotiatedALPN == "h2" { return handOffToHTTP2() }
                let first = connection.peekInput(max: FrontDoor.http2Preface.count)
                if first == Array(FrontDoor.http2Preface.prefix(first.count)) {
                    if first.count < FrontDoor.http2Preface.count { return } // wait for the rest
                    return handOffToHTTP2()
                }
                if FrontDoor.isNeitherHTTP1NorHTTP2(connection.peekInput(max: 256)) { return handOffToHTTP2() }
                state = .readingHead
            case .readingHead:
                receivedSinceLastRequest = true
                var step: HTTPParseStep<HTTPRequestHead> = .needMore
                connection.consumeInput { chunk in
                    step = parser.feed(chunk)
                    switch step {
                    case .needMore: return chunk.count
                    case .head(_, let consumed): return consumed
                    case .failure: return chunk.count
                    }
                }
                switch step {
                case .needMore:
                    return
                case .failure(let error):
                    let reason = HTTPResponseHead.reasonPhrase(error.status)
                    respond(RequestError(code: error.status, reason: RequestError.reason(forCode: error.status),
                                         message: error.message.isEmpty ? reason : error.message), close: true)
                    return
                case .head(let head, _):
                    parser = HTTPRequestParser(limits: services.headLimits)
                    headTimer?.cancel()
                    handle(head)
                }
            case .upgradeBody(let head, let request, let context, let remaining):
                connection.consumeInput { chunk in
                    let n = min(chunk.count, remaining - upgradeBody.count)
                    upgradeBody.append(contentsOf: chunk.prefix(n))
                    return n
                }
                if upgradeBody.count == remaining {
                    state = .handedOff
                    let body = upgradeBody
                    upgradeBody = []
                    Upgrades.h2c(connection: connection, head: head, request: request, context: context,
                                 services: services, body: body, handOff: handOff)
                }
            case .skippingBody(let remaining):
                let n = min(remaining, connection.inputCount)
                connection.drainInput(n)
                state = remaining - n == 0 ? .readingHead : .skippingBody(remaining - n)
            case .handedOff, .closing:
                return
            }
        }
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        headTimer?.cancel()
        headTimer = nil
    }

    func drain() {
        draining = true
        if case .readingHead = state, !receivedSinceLastRequest { connection.close() }
        if case .sniffing = state { connection.close() }
    }

    // MARK: Requests

    private func handle(_ head: HTTPRequestHead) {
        let path = head.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.target
        let keepAlive = wantsKeepAlive(head)
        let context = RequestContext(method: head.method, target: head.target,
                                     headers: head.headers.pairs.map { ($0.name.lowercased(), $0.value) },
                                     connection: connection)
        guard let routed = pipeline.route(method: head.method, target: head.target, context: context) else {
            // The gateway's own answers (health, discovery, command paths refused) first; then the
            // upstream's, when there is one and admits the caller: forwarded requests keep their
            // bodies as they come (chunked included).
            let answer = pipeline.plain(plainRequest(head, path: path, context: context))
            if answer == nil, let passthrough = pipeline.passthrough {
                switch pipeline.admitPassthrough(context) {
                case .failure(let error):
                    respond(error, close: true)
                    return
                case .success(let admission):
                    if passthrough.take(connection, head: head, context: context, admission: admission) {
                        state = .handedOff
                        headTimer?.cancel()
                        headTimer = nil
                        return
                    }
                }
            }
            if let error = bodyError(head) {
                respond(error, close: true)
                return
            }
            guard let answer else {
                respond(RequestError.notFound("the server could not find the requested resource"),
                        close: !keepAlive, head: head)
                return
            }
            var headers = HTTPHeaders()
            headers.add("Content-Type", answer.contentType)
            for (name, value) in answer.headers { headers.add(name, value) }
            send(status: answer.status, headers: headers, body: answer.body, close: !keepAlive, head: head)
            return
        }
        switch routed {
        case .failure(let error):
            // Audited by the pipeline.
            respond(error, close: !continues(head), head: head)
        case .success(let request):
            if let error = bodyError(head) {
                pipeline.refusedBeforeAdmission(request, context: context, error: error)
                respond(error, close: true)
                return
            }
            upgrade(request, head: head, context: context)
        }
    }

    private func plainRequest(_ head: HTTPRequestHead, path: String, context: RequestContext) -> PlainRequest {
        let query = head.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init)
        return PlainRequest(method: head.method, path: path, query: query, context: context)
    }

    private func upgrade(_ request: ExecRequest, head: HTTPRequestHead, context: RequestContext) {
        var request = request
        let headers = head.headers
        let kind = UpgradeKind.detect(connectionTokens: headers.tokens("connection"),
                                      upgradeTokens: headers.tokens("upgrade"),
                                      hasHTTP2Settings: headers.contains("http2-settings"))
        if kind == .none {
            let asked = headers.tokens("connection").contains("upgrade")
            let error = RequestError.badRequest(asked ? "unable to upgrade: missing upgrade headers in request"
                                                      : "Upgrade request required")
            pipeline.refusedBeforeAdmission(request, context: context, error: error)
            respond(error, close: !continues(head), head: head)
            return
        }
        if let error = pipeline.admit(&request, context: context) {
            respond(error, close: true)
            return
        }
        logger.debug("exec request", metadata: ["target": "\(request.target)", "upgrade": "\(kind.rawValue)",
                                                "path": "\(request.pathForm.rawValue)"])
        // A refusal after admission (no common version, a bad handshake) is still audited.
        let admitted = request
        let handOff: (Upgrades.Outcome) -> Void = { [self] outcome in
            if case .refused(let error) = outcome { pipeline.notStarted(admitted, context: context, error: error) }
            self.handOff(outcome)
        }
        if request.kind == .portForward {
            return Upgrades.portForward(kind, connection: connection, head: head, request: request, context: context,
                                        services: services, handOff: handOff)
        }
        switch kind {
        case .spdy:
            Upgrades.spdy(connection: connection, head: head, request: request, context: context, services: services, handOff: handOff)
        case .h2c:
            let length = Int(head.headers[first: "content-length"] ?? "0") ?? 0
            if length > HTTP1ServerHandler.maxUpgradeBody {
                let error = RequestError(code: 413, reason: "RequestEntityTooLarge",
                                         message: "an h2c upgrade request body is limited to \(HTTP1ServerHandler.maxUpgradeBody) bytes")
                pipeline.notStarted(request, context: context, error: error)
                respond(error, close: true)
            } else if length > 0 {
                state = .upgradeBody(head, request, context, length)
            } else {
                Upgrades.h2c(connection: connection, head: head, request: request, context: context, services: services, body: [], handOff: handOff)
            }
        case .websocket:
            Upgrades.websocket(connection: connection, head: head, request: request, context: context, services: services,
                               handOff: handOff)
        case .none:
            break
        }
    }

    /// Called by an upgrade once the connection belongs to a frontend (or was answered with an error).
    private func handOff(_ outcome: Upgrades.Outcome) {
        switch outcome {
        case .refused(let error):
            respond(error, close: true)
        case .upgraded:
            state = .handedOff
            headTimer?.cancel()
            headTimer = nil
        }
    }

    private func handOffToHTTP2() {
        state = .handedOff
        headTimer?.cancel()
        headTimer = nil
        Upgrades.http2PriorKnowledge(connection: connection, services: services)
    }

    // MARK: Answers

    private func respond(_ error: RequestError, close: Bool, head: HTTPRequestHead? = nil) {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        for line in error.headers { headers.add(line.name, line.value) }
        send(status: error.code, headers: headers, body: Array(error.statusJSON.utf8), close: close, head: head)
    }

    private func send(status: Int, headers: HTTPHeaders, body: [UInt8], close: Bool, head: HTTPRequestHead?) {
        var headers = headers
        headers.add("Content-Length", String(body.count))
        let closing = close || draining
        if closing { headers.add("Connection", "close") }
        connection.write(HTTPResponseHead(status: status, headers: headers).serialized())
        if head?.method != "HEAD" { connection.write(body) }
        if closing {
            state = .closing
            headTimer?.cancel()
            connection.closeGracefully(linger: 2)
        } else {
            receivedSinceLastRequest = false
            if let head, let length = Int(head.headers[first: "content-length"] ?? "0"), length > 0 {
                state = .skippingBody(length)
            } else {
                state = .readingHead
            }
            armHeadTimer(services.keepAliveTimeout)
        }
    }

    private func armHeadTimer(_ seconds: Double) {
        headTimer?.cancel()
        headTimer = LoopTimer(loop: connection.loop, after: seconds) { [weak self] in self?.headTimedOut() }
    }

    private func headTimedOut() {
        guard connection.isOpen else { return }
        switch state {
        case .readingHead where receivedSinceLastRequest, .sniffing where connection.inputCount > 0:
            respond(RequestError(code: 408, reason: "Timeout", message: "request head not received in time"), close: true)
        case .upgradeBody:
            respond(RequestError(code: 408, reason: "Timeout", message: "request body not received in time"), close: true)
        case .readingHead, .sniffing, .skippingBody:
            connection.close()
        case .handedOff, .closing:
            break
        }
    }

    private func wantsKeepAlive(_ head: HTTPRequestHead) -> Bool {
        let tokens = head.headers.tokens("connection")
        if head.version == .http10 { return tokens.contains("keep-alive") }
        return !tokens.contains("close")
    }

    /// A refused exec request leaves the connection usable (keep-alive) when it asked for no
    /// protocol switch and its body, if any, can be skipped. A refused upgrade still closes: the
    /// client tied the connection's fate to the switch.
    private func continues(_ head: HTTPRequestHead) -> Bool {
        wantsKeepAlive(head) && bodyError(head) == nil && !head.headers.tokens("connection").contains("upgrade")
    }

    /// Bodies are only skipped on plain requests; a chunked one is refused rather than parsed.
    private func bodyError(_ head: HTTPRequestHead) -> RequestError? {
        if head.headers.contains("transfer-encoding") {
            return RequestError(code: 411, reason: "LengthRequired", message: "chunked request bodies are not accepted here")
        }
        if let length = head.headers[first: "content-length"], Int(length) == nil || Int(length)! < 0 {
            return .badRequest("invalid Content-Length")
        }
        return nil
    }
}

extension HTTP1ServerHandler: IdleKeepAlive {
    /// Between requests on a kept-alive connection, with nothing of the next one received.
    var isIdleKeepAlive: Bool {
        if case .readingHead = state, !receivedSinceLastRequest { return true }
        return false
    }
}
