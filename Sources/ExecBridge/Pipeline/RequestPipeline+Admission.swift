import ExecModel

/// Routing, screening and identification for every request the router recognises (exec and
/// attach paths, discovery, passthrough, command paths), so that each refusal, whichever step
/// answers it, is audited once.
extension RequestPipeline {
    /// The exec request a target names, or nil when it is no exec path. A malformed exec request
    /// and one that fails the gates (browser provenance) come back as an audited failure.
    func route(method: String, target: String, context: RequestContext) -> Result<ExecRequest, RequestError>? {
        guard let routed = ExecRouter.route(method: method, target: target) else { return nil }
        switch routed {
        case .failure(let error):
            let kind = RequestEvent.Kind(ExecRouter.kind(ofTarget: target) ?? .exec)
            report(kind, identity: nil, context: context, error: error)
            return routed
        case .success(let request):
            if let error = screen(context) {
                refusedBeforeAdmission(request, context: context, error: error)
                return .failure(error)
            }
            return routed
        }
    }

    /// The gates' verdict; nil when every gate lets the request pass.
    func screen(_ context: RequestContext) -> RequestError? {
        for gate in gates {
            if let error = gate.screen(context) { return error }
        }
        return nil
    }

    /// A recognised exec request refused before its caller was identified (upgrade required, a
    /// body too large, a gate): audited without identity.
    func refusedBeforeAdmission(_ request: ExecRequest, context: RequestContext, error: RequestError) {
        let kind = RequestEvent.Kind(request.kind)
        for observer in observers {
            observer.observed(RequestEvent(kind: kind, identity: nil, context: context, request: request,
                                           outcome: .refused(error)))
        }
    }

    /// Admission of a request for the upstream: an identity as exec needs one (401 otherwise),
    /// and the audit of how the exchange ended.
    func admitPassthrough(_ context: RequestContext) -> Result<PassthroughAdmission, RequestError> {
        switch identify(context, screened: false) {
        case .failure(let error):
            report(.passthrough, identity: nil, context: context, error: error)
            return .failure(error)
        case .success(let identity):
            let observers = self.observers
            return .success(PassthroughAdmission(identity: identity, forwardAuthorization: passthroughForwardsAuthorization) { outcome in
                for observer in observers {
                    observer.observed(RequestEvent(kind: .passthrough, identity: identity, context: context, request: nil,
                                                   outcome: .passedThrough(outcome)))
                }
            })
        }
    }

    /// Gates (when `screened`), then the caller's identity; nil identity without an authenticator.
    func identify(_ context: RequestContext, screened: Bool) -> Result<Identity?, RequestError> {
        if screened, let error = screen(context) { return .failure(error) }
        guard let authenticator else { return .success(nil) }
        return authenticator.identify(context).map { $0 }
    }

    func report(_ kind: RequestEvent.Kind, identity: Identity?, context: RequestContext, error: RequestError) {
        for observer in observers {
            observer.observed(RequestEvent(kind: kind, identity: identity, context: context, request: nil,
                                           outcome: .refused(error)))
        }
    }

    /// Whether discovery shows this target to this caller.
    func mayExec(_ identity: Identity?, _ target: ExecTarget) -> Bool {
        guard let targetAuthorizer else { return true }
        return targetAuthorizer.mayExec(identity ?? .anonymous, target)
    }
}
