import ExecModel
import HTTP1
import Reactor
import WebSocket

extension Upgrades {
    /// Port-forward on an HTTP/1.1 WebSocket upgrade: kubectl's SPDY tunnel, or kubelet's channel
    /// form (the ports of the query, fixed at the upgrade).
    static func webSocketPortForward(connection: Connection, head: HTTPRequestHead, request: ExecRequest,
                                     context: RequestContext, services: ConnectionServices,
                                     handOff: (Outcome) -> Void) {
        let client: WebSocketClientRequest
        do throws(WebSocketRequestError) {
            client = try WebSocketHandshake.validateClientRequest(method: head.method) { head.headers.values($0) }
        } catch {
            return handOff(.refused(requestError(error)))
        }
        let form: PortForwardWebSocketForm
        switch PortForwardWebSocketForm.negotiate(client.protocols) {
        case .failure(let error): return handOff(.refused(error))
        case .success(let chosen): form = chosen
        }
        // kubelet's NewV4Options: the channel form needs its ports before the upgrade.
        if form != .tunnel, request.ports.isEmpty {
            return handOff(.refused(.badRequest("query parameter \"port\" is required")))
        }
        var request = request
        request.generation = .websocket
        request.offeredVersions = client.protocols
        var headers = HTTPHeaders()
        for line in WebSocketHandshake.responseHeaders(acceptValue: client.acceptValue, protocol: form.echoed) {
            headers.add(line.name, line.value)
        }
        connection.write(HTTPResponseHead(status: 101, headers: headers).serialized())
        handOff(.upgraded)
        // Each tunnel holds a place of its own; the connection itself holds none.
        context.admission.release()
        let socket = SocketCarrier(connection: connection)
        let starter = TunnelStarter(services: services, request: request, context: context)
        connection.setOutputLowWater(services.launcher.bridge.lowWater)
        connection.handler = socket
        services.switched(connection, .websocket)
        switch form {
        case .tunnel:
            let carrier = WebSocketSPDYCarrier(below: socket)
            socket.listener = carrier
            let trace = services.launcher.beginTrace(.spdy, upgrade: (request, context))
            carrier.listener = SPDYPortForwardSession(carrier: carrier, starter: starter, trace: trace)
        case .channels(let base64, _):
            let frontend = WebSocketPortForwardFrontend(carrier: socket, starter: starter, base64: base64)
            socket.listener = frontend
            frontend.start()
        }
        if connection.inputCount > 0 { socket.connectionDidRead(connection) }
    }
}
