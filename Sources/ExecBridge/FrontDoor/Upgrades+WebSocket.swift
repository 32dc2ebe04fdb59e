import ExecModel
import HTTP1
import Reactor

extension Upgrades {
    /// The WebSocket channel protocol (spec §6). Until it lands, a refusal that makes kubectl
    /// (1.30+) fall back to SPDY: any non-101 answer to its WebSocket attempt does.
    static func websocket(connection: Connection, head: HTTPRequestHead, request: ExecRequest, context: RequestContext,
                          worker: Worker, handOff: (Outcome) -> Void) {
        handOff(.refused(RequestError(code: 501, reason: "NotImplemented",
                                      message: "the WebSocket channel protocol is not supported yet; use SPDY/3.1 or HTTP/2")))
    }
}
