import ExecModel
import HTTP1
import HTTP2
import Reactor

/// The switch from HTTP/1.1 to a session generation: negotiation, the 101, the hand-off.
enum Upgrades {
    enum Outcome {
        case upgraded
        case refused(RequestError)
    }

    static func spdy(connection: Connection, head: HTTPRequestHead, request: ExecRequest, context: RequestContext, services: ConnectionServices,
                     handOff: (Outcome) -> Void) {
        var request = request
        let offered = VersionNegotiation.splitOffers(head.headers.values("x-stream-protocol-version"))
        switch VersionNegotiation.negotiate(offered: offered, supported: ServedVersions.spdy) {
        case .failure(let error):
            handOff(.refused(error))
        case .success(let version):
            request.version = version
            request.offeredVersions = offered
            request.generation = .spdy
            var headers = HTTPHeaders()
            headers.add("Connection", "Upgrade")
            headers.add("Upgrade", "SPDY/3.1")
            // A client that offered nothing (2015) is answered as Kubernetes then did: no header.
            if !offered.isEmpty { headers.add("X-Stream-Protocol-Version", version.token) }
            connection.write(HTTPResponseHead(status: 101, headers: headers).serialized())
            handOff(.upgraded)
            let frontend = SPDYFrontend(connection: connection, request: request, context: context, launcher: services.launcher)
            connection.handler = frontend
            services.switched(connection, .spdy)
            // Frames the client sent right behind its request are already buffered.
            if connection.inputCount > 0 { frontend.connectionDidRead(connection) }
        }
    }
}

extension Upgrades {
    /// The h2c upgrade of spec §5 item 1: with `X-Stream-Protocol-Version` the session is in
    /// channel-stream mode (stream 1 answers with the chosen version); without, stream 1 itself
    /// is a single-stream session (item 7).
    static func h2c(connection: Connection, head: HTTPRequestHead, request: ExecRequest, context: RequestContext, services: ConnectionServices,
                    body: [UInt8], handOff: (Outcome) -> Void) {
        var request = request
        request.generation = .http2
        let offered = VersionNegotiation.splitOffers(head.headers.values("x-stream-protocol-version"))
        let channelMode = !offered.isEmpty
        if channelMode {
            switch VersionNegotiation.negotiate(offered: offered, supported: ServedVersions.http2) {
            case .failure(let error):
                return handOff(.refused(error))
            case .success(let version):
                request.version = version
                request.offeredVersions = offered
            }
        } else {
            request.version = .v4
        }
        guard let settings = switchToH2C(connection: connection, head: head, handOff: handOff) else { return }
        if !HTTP2ServerConnection.upgraded(connection: connection, services: services, settingsHeader: settings,
                                           headRequest: head.method == "HEAD", request: request, context: context,
                                           channelMode: channelMode, body: body) {
            connection.close()
        }
    }

    static func http2PriorKnowledge(connection: Connection, services: ConnectionServices) {
        HTTP2ServerConnection.priorKnowledge(connection: connection, services: services)
    }
}
