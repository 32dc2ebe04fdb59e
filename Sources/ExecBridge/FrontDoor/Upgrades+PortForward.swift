import ExecModel
import HTTP1
import HTTP2
import Reactor

extension Upgrades {
    /// A port-forward request's upgrade: SPDY/3.1 (`portforward.k8s.io`), WebSocket (kubelet's
    /// channel form, or kubectl's SPDY tunnel), or h2c (ExecBridge's HTTP/2 form).
    static func portForward(_ kind: UpgradeKind, connection: Connection, head: HTTPRequestHead, request: ExecRequest,
                            context: RequestContext, services: ConnectionServices, handOff: (Outcome) -> Void) {
        switch kind {
        case .spdy:
            spdyPortForward(connection: connection, head: head, request: request, context: context,
                            services: services, handOff: handOff)
        case .websocket:
            webSocketPortForward(connection: connection, head: head, request: request, context: context,
                                 services: services, handOff: handOff)
        case .h2c:
            h2cPortForward(connection: connection, head: head, context: context, services: services, handOff: handOff)
        case .none:
            handOff(.refused(.badRequest("Upgrade request required")))
        }
    }

    /// An h2c upgrade on a port-forward path: the connection becomes HTTP/2, stream 1 is answered
    /// `:status 200` with no body, and tunnels are opened as stream pairs (docs/protocol.md §13).
    static func h2cPortForward(connection: Connection, head: HTTPRequestHead, context: RequestContext,
                               services: ConnectionServices, handOff: (Outcome) -> Void) {
        let length = Int(head.headers[first: "content-length"] ?? "0") ?? 0
        guard length == 0, !head.headers.contains("transfer-encoding") else {
            return handOff(.refused(.badRequest("a port-forward upgrade request carries no body")))
        }
        guard let settings = switchToH2C(connection: connection, head: head, handOff: handOff) else { return }
        // Each tunnel is admitted on its own error stream; the upgrade itself holds no place.
        context.admission.release()
        if !HTTP2ServerConnection.upgradedForPortForward(connection: connection, services: services,
                                                          settingsHeader: settings, headRequest: head.method == "HEAD") {
            connection.close()
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
