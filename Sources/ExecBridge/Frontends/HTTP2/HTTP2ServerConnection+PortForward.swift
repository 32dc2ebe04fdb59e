import ExecModel
import HTTP2

extension HTTP2ServerConnection {
    /// A port-forward stream (docs/protocol.md, "Port-forward on HTTP/2"): each is admitted as
    /// its tunnel, never by the connection.
    func portForwardStream(_ stream: Int32, request: ExecRequest, context: RequestContext, headers: [HTTP2Header],
                           method: String, endStream: Bool) {
        let streams = portForward ?? HTTP2PortForwardStreams(owner: self)
        portForward = streams
        streams.open(stream, request: request, context: context, headers: headers, method: method, endStream: endStream)
    }

    /// A tunnel or pair ended: a draining connection closes after the last; an idle one starts its clock.
    func afterPortForwardChange() {
        guard state != .closed else { return }
        if state == .draining, !hasLiveSession { closeWhenDone() }
        flush()
        if h2.isIdle { becameIdle() }
    }
}
