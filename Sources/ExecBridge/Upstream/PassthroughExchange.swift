import ExecModel
import Glibc
import HTTP1
import Reactor

/// One passed-through request: the client's connection (taken over from the front door after the
/// request head) and one upstream connection. Bytes are forwarded as they are, once; the heads
/// are rewritten (`ForwardedHeaders`) and the bodies followed (`BodyFraming`) only to know where
/// each message ends. Each side's reader is paused while the other side's output holds more than
/// the budget. After the response the client connection closes (`Connection: close`): the front
/// door cannot take a connection back.
final class PassthroughExchange: ConnectionHandler {
    private enum ResponseState { case head, body, tunnel, done }

    private let client: Connection
    private var upstream: Connection?
    private let proxy: PassthroughProxy
    private let head: HTTPRequestHead
    private let peer: SocketAddress?
    private let wantsUpgrade: Bool
    private var requestBody: BodyFraming
    private var responseBody = BodyFraming.none
    private var parser = HTTPResponseParser()
    private var responseState = ResponseState.head
    private var connected = false
    private var answered = false
    private var closed = false
    private var connectTimer: LoopTimer?
    private let admission: PassthroughAdmission
    /// What the audit line says of this exchange; reported once, when it ends.
    private var outcome = PassthroughOutcome()
    private var reported = false

    private var budget: Int { proxy.budget }
    private var config: UpstreamConfig { proxy.upstream }

    static func start(client: Connection, head: HTTPRequestHead, peer: SocketAddress?, proxy: PassthroughProxy,
                      admission: PassthroughAdmission) {
        let framing: BodyFraming
        do {
            framing = try BodyFraming.request(head)
        } catch {
            respond(client, RequestError.badRequest("\(error)"))
            admission.ended(PassthroughOutcome(status: 400))
            return
        }
        let exchange = PassthroughExchange(client: client, head: head, peer: peer, framing: framing, proxy: proxy,
                                           admission: admission)
        client.handler = exchange
        exchange.connect()
    }

    private init(client: Connection, head: HTTPRequestHead, peer: SocketAddress?, framing: BodyFraming, proxy: PassthroughProxy,
                 admission: PassthroughAdmission) {
        self.client = client
        self.admission = admission
        self.head = head
        self.peer = peer
        self.requestBody = framing
        self.proxy = proxy
        self.wantsUpgrade = ForwardedHeaders.upgradeProtocols(head.headers) != nil
    }

    // MARK: Connecting

    private func connect() {
        // The body (already partly buffered) waits until the upstream can take it.
        client.pauseReading()
        client.setOutputLowWater(budget / 4)
        let tls = config.url.scheme.usesTLS ? config.passthroughTLS : nil
        let connection = Connection.connect(loop: client.loop, to: config.address, tls: tls,
                                            serverName: tls == nil ? nil : config.serverName, handler: self)
        guard let connection else {
            // (An immediate failure was already answered through connectionDidClose.)
            if !closed { fail(502, "error dialing backend: \(DialError.socket(errno, upstream: config))") }
            return
        }
        guard !closed else { return }
        upstream = connection
        connectTimer = LoopTimer(loop: client.loop, after: config.connectTimeout) { [weak self] in
            guard let self, !self.connected, !self.closed else { return }
            self.fail(504, "error dialing backend: \(DialError.timeout(self.config))")
        }
    }

    func connectionDidConnect(_ connection: Connection) {
        guard connection !== client, !closed else { return }
        connected = true
        connectTimer?.cancel()
        connection.setOutputLowWater(budget / 4)
        let forwarded = ForwardedHeaders.upstreamRequest(head, authority: config.url.authority, clientAddress: peer?.host,
                                                         clientTLS: client.isTLS, framing: requestBody,
                                                         forwardAuthorization: admission.forwardAuthorization)
        connection.write(forwarded.serialized())
        proxy.logger.debug("passthrough", metadata: ["method": "\(head.method)", "target": "\(head.target)"])
        if !requestBody.isComplete { client.resumeReading() }
        pumpRequest()
    }

    // MARK: Events

    func connectionDidRead(_ connection: Connection) {
        if connection === client { pumpRequest() } else { pumpResponse() }
    }

    func connectionDidDrain(_ connection: Connection) {
        if connection === client {
            upstream?.resumeReading()
            pumpResponse()
        } else if responseState == .tunnel || !requestBody.isComplete {
            client.resumeReading()
            pumpRequest()
        }
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        if connection === client {
            // The client left: nobody reads the answer.
            closed = true
            connectTimer?.cancel()
            dropUpstream()
            report()
            return
        }
        upstream = nil
        guard !closed else { return }
        guard connected else {
            return fail(502, "error dialing backend: \(DialError.describe(reason, upstream: config))")
        }
        switch responseState {
        case .head:
            fail(502, "the backend closed the connection before answering")
        case .body:
            if case .untilClose = responseBody {
                finish()
            } else {
                // A framed body cut short: close at once so the client sees it incomplete.
                closed = true
                client.close()
                report()
            }
        case .tunnel:
            finish()
        case .done:
            break
        }
    }

    // MARK: Client → upstream

    private func pumpRequest() {
        guard connected, !closed, let upstream, upstream.isOpen else { return }
        if responseState == .tunnel {
            client.consumeInput { chunk in
                guard upstream.outputCount <= budget else { return 0 }
                upstream.write(chunk)
                outcome.requestBytes += chunk.count
                return chunk.count
            }
        } else if !requestBody.isComplete {
            var failure: Error?
            client.consumeInput { chunk in
                guard upstream.outputCount <= budget else { return 0 }
                do {
                    let n = try requestBody.take(chunk)
                    upstream.write(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                    outcome.requestBytes += n
                    return n
                } catch {
                    failure = error
                    return chunk.count
                }
            }
            if let failure { return fail(400, "\(failure)") }
        }
        // Done with the request (anything more is a pipelined request, refused by the close
        // after this answer), or the upstream holds a budget: stop reading the client.
        if (responseState != .tunnel && requestBody.isComplete) || upstream.outputCount > budget {
            client.pauseReading()
        }
    }

    // MARK: Upstream → client

    private func pumpResponse() {
        guard !closed, let upstream else { return }
        while upstream.isOpen, upstream.inputCount > 0, !closed {
            switch responseState {
            case .head:
                var step: HTTPParseStep<HTTPResponseHead> = .needMore
                upstream.consumeInput { chunk in
                    step = parser.feed(chunk)
                    if case .head(_, let consumed) = step { return consumed }
                    return chunk.count
                }
                switch step {
                case .needMore: return
                case .failure(let error): return fail(502, "bad response from the backend: \(error.message)")
                case .head(let response, _): answer(response)
                }
            case .body, .tunnel:
                var failure: Error?
                let before = upstream.inputCount
                upstream.consumeInput { chunk in
                    guard client.outputCount <= budget else { return 0 }
                    do {
                        let n = try responseBody.take(chunk)
                        client.write(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                        outcome.responseBytes += n
                        return n
                    } catch {
                        failure = error
                        return chunk.count
                    }
                }
                if let failure {
                    proxy.logger.info("passthrough: bad response body from the backend", metadata: ["error": "\(failure)"])
                    closed = true
                    client.close()
                    dropUpstream()
                    report()
                    return
                }
                if responseState == .body, responseBody.isComplete { return finish() }
                if client.outputCount > budget {
                    upstream.pauseReading()
                    return
                }
                if upstream.inputCount == before { return }
            case .done:
                upstream.drainInput(upstream.inputCount)
            }
        }
    }

    private func answer(_ response: HTTPResponseHead) {
        if response.status == 101 || response.status >= 200 { outcome.status = response.status }
        if response.status == 101 {
            guard wantsUpgrade else { return fail(502, "the backend switched protocols unasked") }
            client.write(ForwardedHeaders.clientResponse(response).serialized())
            answered = true
            responseState = .tunnel
            responseBody = .untilClose
            client.resumeReading()
            pumpRequest()
            return
        }
        if response.status < 200 {
            // 100 Continue, 103 Early Hints: passed on; the final answer follows.
            client.write(ForwardedHeaders.clientResponse(response).serialized())
            parser = HTTPResponseParser()
            return
        }
        do {
            responseBody = try BodyFraming.response(response, requestMethod: head.method)
        } catch {
            return fail(502, "bad response from the backend: \(error)")
        }
        client.write(ForwardedHeaders.clientResponse(response).serialized())
        answered = true
        responseState = .body
        proxy.logger.debug("passthrough answered", metadata: ["target": "\(head.target)", "status": "\(response.status)"])
        if responseBody.isComplete { finish() }
    }

    // MARK: Ending

    /// The answer is complete: the client's connection closes once it has read it.
    private func finish() {
        guard !closed else { return }
        closed = true
        responseState = .done
        dropUpstream()
        client.closeGracefully(linger: 5)
        report()
    }

    private func report() {
        guard !reported else { return }
        reported = true
        admission.ended(outcome)
    }

    /// Before any answer: a Status response (502, 504, 400); after: an abrupt close.
    private func fail(_ code: Int, _ message: String) {
        guard !closed else { return }
        closed = true
        connectTimer?.cancel()
        dropUpstream()
        if outcome.status == nil { outcome.status = code }
        defer { report() }
        if answered {
            client.close()
            return
        }
        proxy.logger.info("passthrough failed", metadata: ["target": "\(head.target)", "error": "\(message)"])
        let reason = code == 504 ? "Timeout" : code == 400 ? "BadRequest" : "ServiceUnavailable"
        Self.respond(client, RequestError(code: code, reason: reason, message: message))
    }

    private func dropUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        upstream.handler = nil
        upstream.close()
    }

    private static func respond(_ client: Connection, _ error: RequestError) {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        let body = Array(error.statusJSON.utf8)
        headers.add("Content-Length", String(body.count))
        headers.add("Connection", "close")
        client.write(HTTPResponseHead(status: error.code, headers: headers).serialized())
        client.write(body)
        client.closeGracefully(linger: 2)
    }
}
