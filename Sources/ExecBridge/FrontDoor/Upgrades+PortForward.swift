import ExecModel
import HTTP1
import Reactor

extension Upgrades {
    /// A port-forward request's upgrade: SPDY/3.1 (`portforward.k8s.io`), or WebSocket (kubelet's
    /// channel form, or kubectl's SPDY tunnel). An h2c upgrade is refused: HTTP/2 clients use prior
    /// knowledge or TLS for port-forward (docs/protocol.md).
    static func portForward(_ kind: UpgradeKind, connection: Connection, head: HTTPRequestHead, request: ExecRequest,
                            context: RequestContext, services: ConnectionServices, handOff: (Outcome) -> Void) {
        switch kind {
        case .spdy:
            spdyPortForward(connection: connection, head: head, request: request, context: context,
                            services: services, handOff: handOff)
        case .websocket:
            webSocketPortForward(connection: connection, head: head, request: request, context: context,
                                 services: services, handOff: handOff)
        case .h2c, .none:
            handOff(.refused(.badRequest("port-forward is served over SPDY/3.1, WebSocket, or HTTP/2 with prior knowledge or TLS; not over an h2c upgrade")))
        }
    }

    /// kubelet's SPDY port-forward: 101 with `X-Stream-Protocol-Version: portforward.k8s.io`, then
    /// tunnels as the client opens stream pairs.
    static func spdyPortForward(connection: Connection, head: HTTPRequestHead, request: ExecRequest,
                                context: RequestContext, services: ConnectionServices, handOff: (Outcome) -> Void) {
        var request = request
        let offered = VersionNegotiation.splitOffers(head.headers.values("x-stream-protocol-version"))
        switch PortForwardProtocol.negotiateSPDY(offered: offered) {
        case .failure(let error):
            handOff(.refused(error))
        case .success(let chosen):
            request.offeredVersions = offered
            request.generation = .spdy
            var headers = HTTPHeaders()
            headers.add("Connection", "Upgrade")
            headers.add("Upgrade", "SPDY/3.1")
            if let chosen { headers.add("X-Stream-Protocol-Version", chosen) }
            connection.write(HTTPResponseHead(status: 101, headers: headers).serialized())
            handOff(.upgraded)
            // Each tunnel holds a place of its own; the connection itself holds none.
            context.admission.release()
            let carrier = SocketCarrier(connection: connection)
            let starter = TunnelStarter(services: services, request: request, context: context)
            let trace = services.launcher.beginTrace(.spdy, upgrade: (request, context))
            carrier.listener = SPDYPortForwardSession(carrier: carrier, starter: starter, trace: trace)
            connection.setOutputLowWater(services.launcher.bridge.lowWater)
            connection.handler = carrier
            services.switched(connection, .spdy)
            if connection.inputCount > 0 { carrier.connectionDidRead(connection) }
        }
    }
}
