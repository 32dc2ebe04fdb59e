import ExecModel
import HTTP1
import Reactor
import WebSocket

extension Upgrades {
    /// Subprotocols served, newest first (the client's order decides among them).
    static let webSocketSubprotocols = WebSocketSubprotocol.all

    /// The WebSocket channel protocol (spec §6) on an HTTP/1.1 exec request: RFC 6455 handshake
    /// checks (GET, version 13, key), subprotocol negotiation (403 before the upgrade when nothing
    /// offered is spoken; no header at all is the unnamed binary protocol, and nothing is echoed),
    /// the 101 without extensions, and the hand-off to `WebSocketExecFrontend`.
    static func websocket(connection: Connection, head: HTTPRequestHead, request: ExecRequest, context: RequestContext,
                          worker: Worker, handOff: (Outcome) -> Void) {
        let client: WebSocketClientRequest
        do throws(WebSocketRequestError) {
            client = try WebSocketHandshake.validateClientRequest(method: head.method) { head.headers.values($0) }
        } catch {
            return handOff(.refused(requestError(error)))
        }
        switch negotiateWebSocket(offered: client.protocols, request: request) {
        case .failure(let error):
            handOff(.refused(error))
        case .success(let (request, subprotocol, echoed)):
            var headers = HTTPHeaders()
            for line in WebSocketHandshake.responseHeaders(acceptValue: client.acceptValue, protocol: echoed) {
                headers.add(line.name, line.value)
            }
            connection.write(HTTPResponseHead(status: 101, headers: headers).serialized())
            handOff(.upgraded)
            let transport = WebSocketSocketTransport(connection: connection)
            let frontend = WebSocketExecFrontend(transport: transport, request: request, subprotocol: subprotocol,
                                                 context: context, worker: worker)
            transport.frontend = frontend
            connection.handler = transport
            connection.setOutputLowWater(worker.config.bridge.lowWater)
            frontend.start()
            // Frames the client sent right behind its request are already buffered.
            if connection.inputCount > 0 { transport.connectionDidRead(connection) }
        }
    }

    /// Negotiation shared by the HTTP/1.1 upgrade and HTTP/2 extended CONNECT: the request with
    /// its version and generation set, the subprotocol spoken, and the token to echo (none when
    /// the client offered none).
    static func negotiateWebSocket(offered: [String], request: ExecRequest)
        -> Result<(ExecRequest, WebSocketSubprotocol, String?), RequestError> {
        switch VersionNegotiation.negotiateWebSocket(offered: offered, supported: webSocketSubprotocols) {
        case .failure(let error):
            return .failure(error)
        case .success(let chosen):
            let subprotocol = chosen ?? .unnamed
            var request = request
            request.version = subprotocol.version
            request.offeredVersions = offered
            request.generation = .websocket
            return .success((request, subprotocol, chosen?.token))
        }
    }

    /// A handshake refusal as a Status answer (426 carries `Sec-WebSocket-Version: 13`).
    static func requestError(_ error: WebSocketRequestError) -> RequestError {
        let reason: String
        switch error.status {
        case 405: reason = "MethodNotAllowed"
        case 426: reason = "UpgradeRequired"
        default: reason = "BadRequest"
        }
        return RequestError(code: error.status, reason: reason, message: error.message,
                            headers: error.responseHeaders.map { RequestError.HeaderLine($0.name, $0.value) })
    }
}
