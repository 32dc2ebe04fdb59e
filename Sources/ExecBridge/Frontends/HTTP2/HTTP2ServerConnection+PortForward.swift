import ExecModel
import HTTP2
import Reactor

extension HTTP2ServerConnection {
    /// A port-forward stream (docs/protocol.md, "Port-forward on HTTP/2"): each is admitted as
    /// its tunnel, never by the connection.
    func portForwardStream(_ stream: Int32, request: ExecRequest, context: RequestContext, headers: [HTTP2Header],
                           method: String, endStream: Bool) {
        let streams = portForward ?? HTTP2PortForwardStreams(owner: self)
        portForward = streams
        streams.open(stream, request: request, context: context, headers: headers, method: method, endStream: endStream)
    }

    /// The h2c upgrade of a port-forward request: stream 1 (the upgrade request) is answered
    /// `:status 200` with no body and carries no tunnel; the client then opens tunnels as on any
    /// HTTP/2 connection. False when the upgrade cannot be taken (the caller closes).
    static func upgradedForPortForward(connection: Connection, services: ConnectionServices, settingsHeader: String,
                                       headRequest: Bool) -> Bool {
        let handler = HTTP2ServerConnection(connection: connection, services: services)
        do {
            try handler.h2.upgradeFromHTTP1(http2SettingsHeader: settingsHeader, headRequest: headRequest)
            try handler.h2.submitResponse(stream: 1, headers: [HTTP2Header(":status", "200")], hasBody: false)
        } catch {
            return false
        }
        connection.handler = handler
        handler.portForward = HTTP2PortForwardStreams(owner: handler)
        handler.flush()
        if connection.inputCount > 0 { handler.connectionDidRead(connection) }
        return true
    }

    /// A tunnel or pair ended: a draining connection closes after the last; an idle one starts its clock.
    func afterPortForwardChange() {
        guard state != .closed else { return }
        if state == .draining, !hasLiveSession { closeWhenDone() }
        flush()
        if h2.isIdle { becameIdle() }
    }
}
