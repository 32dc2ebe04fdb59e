import ExecModel

/// Starts the tunnels of one port-forward connection, whatever generation carries it. The
/// connection's request was admitted once at the upgrade; each forwarded connection is then a
/// session of its own, admitted again (identity, authorization, backend check, session limits) and
/// bridged to the backend, so limits, audit, metrics and timeouts count tunnels, not connections.
struct TunnelStarter {
    let launcher: SessionLauncher
    let pipeline: RequestPipeline
    /// The connection's request, as admitted (its `ports` are those of the URL, if any).
    let request: ExecRequest
    let context: RequestContext

    init(services: ConnectionServices, request: ExecRequest, context: RequestContext) {
        self.launcher = services.launcher
        self.pipeline = services.pipeline
        self.request = request
        self.context = context
    }

    /// Admits a tunnel to `port` and bridges `endpoint` to a backend session; the refusal (as the
    /// text for the tunnel's error stream) when it is not admitted.
    func start(port: UInt16, endpoint: SessionEndpoint, attach: (Bridge) -> Void) -> ExecStatus? {
        switch admit(port: port) {
        case .failure(let error):
            return .portForwardFailure(port: port, target: request.target, error.message, reason: error.reason,
                                       code: error.code)
        case .success(let admitted):
            launch(admitted, endpoint: endpoint, attach: attach)
            return nil
        }
    }

    /// A tunnel admitted and not yet started: it holds its place in the limits until then.
    struct Admitted {
        let request: ExecRequest
        let context: RequestContext
    }

    /// Admission of one tunnel to `port`, as a session of its own (audited when refused).
    func admit(port: UInt16) -> Result<Admitted, RequestError> {
        var tunnel = request.tunnel(port: port)
        let tunnelContext = context.withNewAdmission()
        if let error = pipeline.admit(&tunnel, context: tunnelContext) { return .failure(error) }
        return .success(Admitted(request: tunnel, context: tunnelContext))
    }

    /// Bridges `endpoint` to a backend session for an admitted tunnel.
    func launch(_ admitted: Admitted, endpoint: SessionEndpoint, attach: (Bridge) -> Void) {
        launcher.start(admitted.request, context: admitted.context, frontend: endpoint,
                       replaying: PendingInput(limit: launcher.bridge.channelBudget), attach: attach)
    }

    /// An admitted tunnel that will not start (its data stream never came): its place is released, audited.
    func abandon(_ admitted: Admitted, _ error: RequestError) {
        pipeline.notStarted(admitted.request, context: admitted.context, error: error)
    }

    /// A tunnel refused before it could be admitted (a bad port header, a stream missing its pair).
    func refusal(port: UInt16, _ message: String) -> ExecStatus {
        .portForwardFailure(port: port, target: request.target, message, reason: "BadRequest", code: 400)
    }
}
