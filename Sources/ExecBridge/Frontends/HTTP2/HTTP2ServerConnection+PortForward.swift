import ExecModel
import HTTP2

extension HTTP2ServerConnection {
    /// A port-forward stream (docs/protocol.md, "Port-forward on HTTP/2").
    func portForwardStream(_ stream: Int32, request: ExecRequest, context: RequestContext, headers: [HTTP2Header],
                           endStream: Bool) {
        let error = RequestError(code: 501, reason: "NotImplemented", message: "port-forward over HTTP/2 is not served yet")
        services.pipeline.refusedBeforeAdmission(request, context: context, error: error)
        respond(stream, error: error)
    }
}
