import HTTP1
import Reactor

/// Takes over a connection whose request is not for the gateway itself (not exec, not health,
/// not discovery, not a command path) — the side-by-side mode of an upstream backend, which
/// forwards it as plain HTTP/1.1 once the pipeline admitted it. Returns false to leave the
/// request to the 404.
protocol PassthroughHandler: AnyObject {
    func take(_ connection: Connection, head: HTTPRequestHead, context: RequestContext,
              admission: PassthroughAdmission) -> Bool
}

extension PassthroughHandler {
    /// Without admission: anonymous, `Authorization` dropped, nothing audited.
    func take(_ connection: Connection, head: HTTPRequestHead, context: RequestContext) -> Bool {
        take(connection, head: head, context: context, admission: PassthroughAdmission())
    }
}
