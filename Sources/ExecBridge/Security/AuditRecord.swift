import ExecModel

/// One audit line: a session that ran, or a request refused before any upgrade.
///
/// ```json
/// {"time":"2025-01-02T03:04:05.678Z","event":"session","user":"alice","uid":"1001",
///  "groups":["developers","system:authenticated"],"auth":"token","source":"10.0.0.7:51234","method":"POST",
///  "client":{"generation":"SPDY/3.1","version":"v4.channel.k8s.io","offered":["v4.channel.k8s.io"]},
///  "backend":{"kind":"local"},"kind":"exec",
///  "target":{"node":"n1","namespace":"default","pod":"web","container":"app"},
///  "argv":["sh","-c","echo [REDACTED]"],"tty":false,"stdin":false,"stdout":true,"stderr":true,
///  "bytes":{"stdin":0,"stdout":6,"stderr":0},"exitCode":0,"durationSeconds":0.012,"end":"exit"}
/// ```
/// A refusal has `"event":"refusal"`, `"end":"denied"` (401, 403) or `"refused"` (404, 400…), and
/// `"code"`/`"message"` of the Status sent; `user` is null when authentication failed.
enum AuditRecord {
    static func session(_ record: SessionRecord, backend: AuditBackendSide, redactor: AuditRedactor) -> String {
        let request = record.request
        let context = record.context
        var line = head(event: "session", request: request, context: context, authenticated: true)
        line.add("client", object: clientSide(request, context: context))
        line.add("backend", object: backendSide(backend))
        body(&line, request, redactor: redactor)
        var bytes = JSONLine()
        for channel in [Channel.stdin, .stdout, .stderr] { bytes.add(channel.streamType, record.bytes[channel] ?? 0) }
        line.add("bytes", object: bytes)
        let outcome = record.outcome
        switch outcome?.status {
        case .success?:
            line.add("exitCode", 0)
        case .exitCode(let code, _)?:
            line.add("exitCode", code)
        case .failure(let message, let reason, let code)?:
            var failure = JSONLine()
            failure.add("reason", reason)
            failure.add("code", code)
            failure.add("message", redactor.redact(message))
            line.add("failure", object: failure)
        case nil:
            break
        }
        line.add("durationSeconds", seconds: outcome?.duration ?? 0)
        line.add("end", outcome.map { endName($0.reason) } ?? "unknown")
        if let recording = record.recording { line.add("recording", recording) }
        return line.finished
    }

    /// `identified`: false for a refusal before authentication (the identity is unknown).
    static func refusal(_ request: ExecRequest, context: RequestContext, error: RequestError,
                        backend: AuditBackendSide, redactor: AuditRedactor, identified: Bool = true) -> String {
        var line = head(event: "refusal", request: request, context: context, authenticated: identified && error.code != 401)
        line.add("client", object: clientSide(request, context: context))
        line.add("backend", object: backendSide(backend))
        body(&line, request, redactor: redactor)
        line.add("durationSeconds", seconds: 0)
        line.add("end", error.code == 401 || error.code == 403 ? "denied" : "refused")
        line.add("code", error.code)
        line.add("message", redactor.redact(error.message))
        return line.finished
    }

    static func head(event: String, request: ExecRequest, context: RequestContext?, authenticated: Bool) -> JSONLine {
        var line = JSONLine()
        line.add("time", ConsoleLogHandler.timestamp())
        line.add("event", event)
        let identity = request.identity
        line.add("user", authenticated ? identity.user : nil)
        if authenticated, let uid = identity.uid { line.add("uid", uid) }
        line.add("groups", authenticated ? identity.groups : [])
        line.add("auth", authenticated ? credential(identity, context: context) : "none")
        line.add("source", context?.peer.map { "\($0)" })
        line.add("method", context?.method)
        return line
    }

    private static func body(_ line: inout JSONLine, _ request: ExecRequest, redactor: AuditRedactor) {
        line.add("kind", request.kind.rawValue)
        var target = JSONLine()
        target.add("node", request.target.node)
        target.add("namespace", request.target.namespace)
        target.add("pod", request.target.pod)
        target.add("container", request.target.container)
        if request.kind == .portForward, let port = request.ports.first, request.ports.count == 1 {
            target.add("port", Int(port))
        }
        line.add("target", object: target)
        line.add("argv", redactor.redact(argv: request.command))
        line.add("tty", request.tty)
        line.add("stdin", request.stdin)
        line.add("stdout", request.stdout)
        line.add("stderr", request.stderr)
    }

    /// How the identity was established. A verified certificate always wins, so an identity named
    /// after its CN came from it.
    static func credential(_ identity: Identity, context: RequestContext?) -> String {
        if identity.groups.contains("system:unauthenticated") { return "anonymous" }
        if let name = context?.clientCertificate?.commonName, name == identity.user { return "x509" }
        return "token"
    }

    /// The generation and versions toward the client. Before negotiation (a refusal) only the
    /// request says which generation it asked for; a bearer token offered as a WebSocket
    /// subprotocol is never repeated here.
    private static func clientSide(_ request: ExecRequest, context: RequestContext?) -> JSONLine {
        var side = JSONLine()
        let generation = request.generation ?? context.map(requestedGeneration)
        side.add("generation", generation?.rawValue)
        let negotiated = request.generation != nil
        // Port-forward negotiates no channel version: its protocol is in `offered`.
        side.add("version", negotiated && request.kind != .portForward ? request.version.token : nil)
        var offered = request.offeredVersions
        if offered.isEmpty, let context {
            let header = generation == .websocket ? "sec-websocket-protocol" : "x-stream-protocol-version"
            offered = context.headers.filter { $0.name == header }
                .flatMap { $0.value.split(separator: ",").map { String($0.trimmingWhitespace) } }
        }
        side.add("offered", offered.filter { !BearerToken.isWebSocketToken($0) && !$0.isEmpty })
        return side
    }

    static func requestedGeneration(_ context: RequestContext) -> Generation {
        let upgrade = (context.header("upgrade") ?? "").lowercased()
        if upgrade.contains("spdy") { return .spdy }
        if upgrade.contains("websocket") || context.method == "CONNECT" { return .websocket }
        // h2c, or a stream of an HTTP/2 connection (which has no Upgrade header).
        return .http2
    }

    static func backendSide(_ side: AuditBackendSide) -> JSONLine {
        var line = JSONLine()
        line.add("kind", side.kind)
        if let address = side.address { line.add("address", address) }
        if let generation = side.generation { line.add("generation", generation) }
        if let version = side.version { line.add("version", version) }
        return line
    }

    static func endName(_ reason: EndReason) -> String {
        reason == .completed ? "exit" : reason.rawValue
    }
}
