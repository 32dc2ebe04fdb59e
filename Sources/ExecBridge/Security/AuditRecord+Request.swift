import ExecModel

/// Audit lines of requests that did not become a session: refusals answered outside exec
/// admission (a bad name, a method, a browser page, discovery, a command path) and passed-through
/// exchanges.
///
/// ```json
/// {"time":"…","event":"passthrough","user":"alice","uid":"1001","groups":["system:authenticated"],
///  "auth":"token","source":"10.0.0.7:51234","method":"GET","kind":"passthrough","path":"/api/v1/namespaces",
///  "status":200,"bytes":{"request":0,"response":35}}
/// {"time":"…","event":"refusal","user":null,"groups":[],"auth":"none","source":"…","method":"DELETE",
///  "kind":"exec","path":"/exec/default/web/app?command=ls","end":"refused","code":405,"message":"…"}
/// ```
extension AuditRecord {
    static func event(_ event: RequestEvent, backend: AuditBackendSide, redactor: AuditRedactor) -> String {
        if case .refused(let error) = event.outcome, let request = event.request {
            var known = request
            if let identity = event.identity { known.identity = identity }
            return refusal(known, context: event.context, error: error, backend: backend, redactor: redactor,
                           identified: event.identity != nil)
        }
        var line = JSONLine()
        line.add("time", ConsoleLogHandler.timestamp())
        switch event.outcome {
        case .refused: line.add("event", "refusal")
        case .passedThrough: line.add("event", "passthrough")
        case .answered: line.add("event", "request")
        }
        let identity = event.identity
        line.add("user", identity?.user)
        if let uid = identity?.uid { line.add("uid", uid) }
        line.add("groups", identity?.groups ?? [])
        line.add("auth", identity.map { credential($0, context: event.context) } ?? "none")
        line.add("source", event.context.peer.map { "\($0)" })
        line.add("method", event.context.method)
        line.add("kind", event.kind.rawValue)
        // A query may carry a secret as well as an argv may.
        line.add("path", redactor.redact(event.context.target))
        switch event.outcome {
        case .refused(let error):
            line.add("backend", object: backendSide(backend))
            line.add("end", error.code == 401 || error.code == 403 ? "denied" : "refused")
            line.add("code", error.code)
            line.add("message", redactor.redact(error.message))
        case .passedThrough(let outcome):
            if let status = outcome.status { line.add("status", status) }
            var bytes = JSONLine()
            bytes.add("request", outcome.requestBytes)
            bytes.add("response", outcome.responseBytes)
            line.add("bytes", object: bytes)
        case .answered(let status, let bytes):
            line.add("status", status)
            var sizes = JSONLine()
            sizes.add("response", bytes)
            line.add("bytes", object: sizes)
        }
        return line.finished
    }
}
