import ExecModel

/// What the audit hears about a request that did not become a session: a refusal answered
/// before (or instead of) exec admission, or a request passed through to the upstream.
public struct RequestEvent: Sendable {
    public enum Kind: String, Sendable { case exec, attach, discovery, passthrough, command, portForward = "portforward" }

    public enum Outcome: Sendable {
        case refused(RequestError)
        case passedThrough(PassthroughOutcome)
    }

    public var kind: Kind
    /// nil while unknown: refused before authentication, or by it.
    public var identity: Identity?
    public var context: RequestContext
    /// The exec request, when the router could parse one.
    public var request: ExecRequest?
    public var outcome: Outcome
}

extension RequestEvent.Kind {
    /// The audit kind of a request the router recognised.
    init(_ kind: ExecRequest.Kind) {
        switch kind {
        case .exec: self = .exec
        case .attach: self = .attach
        case .portForward: self = .portForward
        }
    }
}

/// How a passed-through exchange ended.
public struct PassthroughOutcome: Sendable {
    /// The upstream's final status, or the gateway's own (502, 504) when there was none.
    public var status: Int?
    /// Body bytes forwarded to the upstream and back to the client (tunnels included).
    public var requestBytes = 0
    public var responseBytes = 0

    public init(status: Int? = nil) {
        self.status = status
    }
}

/// A check every recognised request passes before anything else (browser provenance).
protocol RequestGate: AnyObject {
    func screen(_ context: RequestContext) -> RequestError?
}

/// Who is asking, for requests that are not exec (discovery, passthrough).
protocol RequestAuthenticator: AnyObject {
    func identify(_ context: RequestContext) -> Result<Identity, RequestError>
}

/// May this identity exec into this target? (Discovery shows only such pods.)
protocol TargetAuthorizer: AnyObject {
    func mayExec(_ identity: Identity, _ target: ExecTarget) -> Bool
}

/// What a passed-through request carries from its admission: who asked, whether the client's
/// `Authorization` goes on, and whom to tell how it ended.
struct PassthroughAdmission {
    var identity: Identity?
    var forwardAuthorization = false
    var ended: (PassthroughOutcome) -> Void = { _ in }
}
