import ExecModel
import Reactor

/// What the front doors (HTTP/1.1 and HTTP/2) ask of the gateway about a request, in one place,
/// so that wire code stays free of policy: plain answers (health, discovery), admission of an
/// exec request (identity, authorization, the backend's target check), and the end of a session
/// (audit). One per worker; everything here runs on the worker's loop.
final class RequestPipeline {
    private unowned let worker: Worker
    /// Answers for plain (non-exec) requests, asked in order; the first answer wins.
    var plainHandlers: [PlainHandler]
    /// Admission steps before any upgrade, in order; the first refusal wins.
    var admissionSteps: [AdmissionStep] = []
    /// Told when a session ends or a request is refused (the audit record).
    var observers: [SessionObserver] = []

    init(worker: Worker) {
        self.worker = worker
        plainHandlers = [HealthHandler(limits: worker.config.limits)]
        for extend in worker.config.pipelineExtensions { extend.install(into: self, worker: worker) }
    }

    func plain(_ request: PlainRequest) -> PlainResponse? {
        for handler in plainHandlers {
            if let response = handler.answer(request) { return response }
        }
        return nil
    }

    /// Fills the identity, then checks authorization and the target. A refusal is audited.
    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError? {
        for step in admissionSteps {
            if let error = step.admit(&request, context: context) {
                for observer in observers { observer.refused(request, context: context, error: error) }
                return error
            }
        }
        if let error = worker.backend.check(request) ?? worker.config.limits.admit(user: request.identity.user, into: context.admission) {
            for observer in observers { observer.refused(request, context: context, error: error) }
            return error
        }
        return nil
    }

    /// An admitted request that never became a session (version negotiation failed, the client
    /// never opened its channels): audited like a refusal.
    func notStarted(_ request: ExecRequest, context: RequestContext, error: RequestError) {
        context.admission.release()
        for observer in observers { observer.refused(request, context: context, error: error) }
    }

    func sessionEnded(_ bridge: Bridge, context: RequestContext?) {
        for observer in observers { observer.ended(bridge, context: context) }
    }
}

/// A request as the pipeline sees it, whatever generation carried it.
public struct RequestContext: Sendable {
    public var method: String
    /// Path and query, as received.
    public var target: String
    /// Header lines with lowercase names, in order.
    public var headers: [(name: String, value: String)]
    public var peer: SocketAddress?
    /// The verified TLS client certificate's subject, if any.
    public var clientCertificate: ClientCertificate?
    /// The place this request holds in the session limits once admitted (shared by every copy).
    public let admission = AdmissionSlot()

    public struct ClientCertificate: Sendable {
        public var commonName: String?
        public var organizations: [String]
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    init(method: String, target: String, headers: [(name: String, value: String)], connection: Connection) {
        self.method = method
        self.target = target
        self.headers = headers
        self.peer = connection.peer
        self.clientCertificate = connection.peerCertificateSubject.map {
            ClientCertificate(commonName: $0.commonName, organizations: $0.organizations)
        }
    }
}

public struct PlainRequest: Sendable {
    public var method: String
    /// Path without the query.
    public var path: String
    public var query: String?
    public var context: RequestContext
}

public struct PlainResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(name: String, value: String)]

    public init(status: Int, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public static func json(_ status: Int, _ text: String) -> PlainResponse {
        PlainResponse(status: status, contentType: "application/json", body: Array(text.utf8))
    }

    public static func status(_ error: RequestError) -> PlainResponse {
        PlainResponse(status: error.code, contentType: "application/json", body: Array(error.statusJSON.utf8),
                      headers: error.headers.map { ($0.name, $0.value) })
    }
}

public protocol PlainHandler: AnyObject {
    func answer(_ request: PlainRequest) -> PlainResponse?
}

public protocol AdmissionStep: AnyObject {
    /// Fill in (identity) or refuse the request.
    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError?
}

public protocol SessionObserver: AnyObject {
    func refused(_ request: ExecRequest, context: RequestContext, error: RequestError)
    func ended(_ bridge: Bridge, context: RequestContext?)
}

/// Adds handlers, steps and observers to each worker's pipeline (discovery, security, audit…).
protocol PipelineExtension: Sendable {
    func install(into pipeline: RequestPipeline, worker: Worker)
}

/// `/healthz`, `/readyz`, `/livez`. Not ready (503) while the gateway is at its session limit.
final class HealthHandler: PlainHandler {
    let limits: SessionLimits
    init(limits: SessionLimits) { self.limits = limits }

    func answer(_ request: PlainRequest) -> PlainResponse? {
        guard ["/healthz", "/readyz", "/livez"].contains(request.path) else { return nil }
        if request.path == "/readyz", limits.atSessionLimit {
            return PlainResponse(status: 503, contentType: "text/plain; charset=utf-8", body: Array("at session limit".utf8),
                                 headers: [("Retry-After", String(limits.retryAfter))])
        }
        return PlainResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array("ok".utf8))
    }
}
