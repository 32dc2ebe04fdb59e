import ExecModel
import Glibc
import Logging
import Reactor

/// What the front doors (HTTP/1.1 and HTTP/2) ask of the gateway about a request, in one place,
/// so that wire code stays free of policy: plain answers (health, discovery), admission of an
/// exec request (identity, authorization, the backend's target check), and the end of a session
/// (audit). One per worker; everything here runs on the worker's loop.
final class RequestPipeline {
    let loop: EventLoop
    let backend: Backend
    let logger: Logger
    private let limits: SessionLimits
    /// Bytes a direction of a session (or a passthrough exchange) may hold.
    let channelBudget: Int
    /// Answers for plain (non-exec) requests, asked in order; the first answer wins.
    var plainHandlers: [PlainHandler]
    /// Admission steps before any upgrade, in order; the first refusal wins.
    var admissionSteps: [AdmissionStep] = []
    /// Told when a session ends or a request is refused (the audit record).
    var observers: [SessionObserver] = []
    /// Checks every recognised request passes first, whatever answers it (browser provenance).
    var gates: [RequestGate] = []
    /// Identifies callers of discovery and passthrough as exec's authentication does; nil: anonymous.
    var authenticator: RequestAuthenticator?
    /// Decides which pods discovery shows a caller; nil: all of them.
    var targetAuthorizer: TargetAuthorizer?
    /// `--passthrough-forward-authorization`: the client's `Authorization` goes on to the upstream.
    var passthroughForwardsAuthorization = false
    /// Forwards requests that are not the gateway's own (upstream backends only).
    var passthrough: PassthroughHandler?
    /// The worker's graceful stop: `/readyz` and admission follow it.
    let drain: DrainState
    private let health: HealthHandler

    init(loop: EventLoop, backend: Backend, logger: Logger, limits: SessionLimits, channelBudget: Int) {
        self.loop = loop
        self.backend = backend
        self.logger = logger
        self.limits = limits
        self.channelBudget = channelBudget
        drain = DrainState(retryAfter: limits.retryAfter)
        health = HealthHandler(limits: limits, drain: drain)
        plainHandlers = [health]
    }

    /// The answer to a health probe (`/healthz`, `/readyz`, `/livez`), or nil for any other target:
    /// front doors ask it before anything else, with no request context, routing or parsing, since
    /// a load balancer probes thousands of times a second. Probes pass no gate: they carry nothing.
    func probe(target: String) -> PlainResponse? {
        var target = target
        return target.withUTF8 { probe(target: UnsafeRawBufferPointer($0)) }
    }

    /// `probe(target:)` for a target still in the codec's buffer: no String is made for it.
    func probe(target: UnsafeRawBufferPointer) -> PlainResponse? {
        guard let path = HealthHandler.probePath(target) else { return nil }
        return health.answer(probe: path)
    }

    /// The answer of the first plain handler that has one. A guarded resource (discovery) is
    /// screened and its caller identified first; a command path no handler serves is refused
    /// here, so it never reaches the passthrough. Refusals are audited.
    func plain(_ request: PlainRequest) -> PlainResponse? {
        var request = request
        for handler in plainHandlers {
            guard handler.guards(request) else {
                if let response = handler.answer(request) { return response }
                continue
            }
            switch identify(request.context, screened: true) {
            case .failure(let error):
                report(.discovery, identity: nil, context: request.context, error: error)
                return .status(error)
            case .success(let identity):
                request.identity = identity
            }
            guard let response = handler.answer(request) else { continue }
            if response.status >= 400 {
                let error = RequestError(code: response.status, reason: RequestError.reason(forCode: response.status),
                                         message: "discovery answered \(response.status)")
                report(.discovery, identity: request.identity, context: request.context, error: error)
            }
            return response
        }
        if let command = CommandPaths.command(in: request.context.target) {
            let error = CommandPaths.refusal(command)
            report(.command, identity: nil, context: request.context, error: error)
            return .status(error)
        }
        return nil
    }

    /// Fills the identity, then checks authorization and the target. A refusal is audited.
    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError? {
        if let error = drain.refusal {
            for observer in observers { observer.refused(request, context: context, error: error) }
            return error
        }
        for step in admissionSteps {
            if let error = step.admit(&request, context: context) {
                for observer in observers { observer.refused(request, context: context, error: error) }
                return error
            }
        }
        if let error = backend.check(request) ?? limits.admit(user: request.identity.user, into: context.admission) {
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

    func sessionEnded(_ record: SessionRecord) {
        for observer in observers { observer.ended(record) }
    }
}

public struct PlainRequest: Sendable {
    public var method: String
    /// Path without the query.
    public var path: String
    public var query: String?
    public var context: RequestContext
    /// The caller, for a guarded resource (filled by the pipeline); nil: anonymous or not asked.
    public var identity: Identity?

    public init(method: String, path: String, query: String?, context: RequestContext, identity: Identity? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.context = context
        self.identity = identity
    }
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
    /// True for a resource that is admitted like exec (discovery): the pipeline screens the
    /// request and identifies the caller before `answer`.
    func guards(_ request: PlainRequest) -> Bool
    func answer(_ request: PlainRequest) -> PlainResponse?
}

extension PlainHandler {
    public func guards(_ request: PlainRequest) -> Bool { false }
}

public protocol AdmissionStep: AnyObject {
    /// Fill in (identity) or refuse the request.
    func admit(_ request: inout ExecRequest, context: RequestContext) -> RequestError?
}

public protocol SessionObserver: AnyObject {
    func refused(_ request: ExecRequest, context: RequestContext, error: RequestError)
    func ended(_ record: SessionRecord)
    /// A request that did not become a session: refused outside exec admission, or passed through.
    func observed(_ event: RequestEvent)
}

extension SessionObserver {
    public func observed(_ event: RequestEvent) {}
}

/// Adds handlers, steps and observers to each worker's pipeline (discovery, security, audit…).
protocol PipelineExtension: Sendable {
    func install(into pipeline: RequestPipeline)
}

/// `/healthz`, `/readyz`, `/livez`. Not ready (503) while the gateway is at its session limit,
/// and from the moment it starts to drain (a balancer stops sending it new sessions); alive
/// (`/healthz`, `/livez`) until it exits, so that an orchestrator does not kill a drain.
final class HealthHandler: PlainHandler {
    let limits: SessionLimits
    let drain: DrainState
    static let paths = ["/healthz", "/readyz", "/livez"]

    init(limits: SessionLimits, drain: DrainState) {
        self.limits = limits
        self.drain = drain
    }

    /// A request target (path and query) this handler answers, told without parsing the request:
    /// front doors ask it before routing, so probes cost no exec routing.
    /// Compared as bytes (a probe can come thousands of times a second): no Character walk, no
    /// String for the path, no hashing.
    static func answers(target: String) -> Bool {
        var target = target
        return target.withUTF8 { probePath(UnsafeRawBufferPointer($0)) != nil }
    }

    /// The index in `paths` of the path of `target` (up to its query), or nil.
    static func probePath(_ target: UnsafeRawBufferPointer) -> Int? {
        let end = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let path = UnsafeRawBufferPointer(rebasing: target[..<end])
        return pathBytes.firstIndex { candidate in
            candidate.count == path.count && candidate.withUnsafeBytes { memcmp($0.baseAddress!, path.baseAddress!, path.count) == 0 }
        }
    }

    private static let pathBytes: [[UInt8]] = paths.map { Array($0.utf8) }
    private static let readyz = paths.firstIndex(of: "/readyz")
    /// Shared by every answer (the body array is copied on write only).
    static let healthy = PlainResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array("ok".utf8))
    private static let draining = PlainResponse(status: 503, contentType: "text/plain; charset=utf-8",
                                                body: Array("draining".utf8))

    func answer(_ request: PlainRequest) -> PlainResponse? {
        answer(path: request.path[...])
    }

    func answer(path: Substring) -> PlainResponse? {
        var path = String(path)
        return path.withUTF8 { bytes in
            let bytes = UnsafeRawBufferPointer(bytes)
            guard let index = Self.pathBytes.firstIndex(where: { $0.elementsEqual(bytes) }) else { return nil }
            return answer(probe: index)
        }
    }

    /// The answer for the path `probePath` found.
    func answer(probe index: Int) -> PlainResponse {
        if index == Self.readyz, drain.phase != .serving {
            return Self.draining
        }
        if index == Self.readyz, limits.atSessionLimit {
            return PlainResponse(status: 503, contentType: "text/plain; charset=utf-8", body: Array("at session limit".utf8),
                                 headers: [("Retry-After", String(limits.retryAfter))])
        }
        return Self.healthy
    }
}

/// A part of the pipeline that shows or checks the inventory (discovery), told of a reloaded one
/// on its worker's loop.
protocol InventoryFollower: AnyObject {
    func follow(_ inventory: Inventory?)
}
