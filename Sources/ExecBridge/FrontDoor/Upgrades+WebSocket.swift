import ExecModel
import HTTP1
import Reactor
import WebSocket

extension Upgrades {
    /// The WebSocket channel protocol (spec §6) on an HTTP/1.1 exec request: RFC 6455 handshake
    /// checks (GET, version 13, key), subprotocol negotiation (403 before the upgrade when nothing
    /// offered is spoken; no header at all is the unnamed binary protocol, and nothing is echoed),
    /// the 101 without extensions, and the hand-off to `WebSocketExecFrontend`.
    static func websocket(connection: Connection, head: HTTPRequestHead, request: ExecRequest, context: RequestContext,
                          services: ConnectionServices, handOff: (Outcome) -> Void) {
        let client: WebSocketClientRequest
        do throws(WebSocketRequestError) {
            client = try WebSocketHandshake.validateClientRequest(method: head.method) { head.headers.values($0) }
        } catch {
            return handOff(.refused(requestError(error)))
        }
        switch ServedVersions.webSocket(offered: client.protocols, request: request) {
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
                                                 context: context, launcher: services.launcher)
            transport.frontend = frontend
            connection.handler = transport
            services.switched(connection, .websocket)
            connection.setOutputLowWater(services.launcher.bridge.lowWater)
            frontend.start()
            // Frames the client sent right behind its request are already buffered.
            if connection.inputCount > 0 { transport.connectionDidRead(connection) }
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
