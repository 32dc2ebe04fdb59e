import HTTP1
import Reactor

/// Takes over a connection whose request is not for the gateway itself (not exec, not health,
/// not discovery) — the side-by-side mode of an upstream backend, which forwards it as plain
/// HTTP/1.1. Returns false to leave the request to the 404.
protocol PassthroughHandler: AnyObject {
    func take(_ connection: Connection, head: HTTPRequestHead, context: RequestContext) -> Bool
}
