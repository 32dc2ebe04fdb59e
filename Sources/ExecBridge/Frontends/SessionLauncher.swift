import ExecModel
import Logging
import Reactor

/// What a frontend needs to run a session, and nothing more: one per worker, handed to every
/// frontend instead of the worker itself. It creates the bridge, replays input the client sent
/// early, arms the stream-creation timeout, and reports the end of every session it started.
final class SessionLauncher {
    let loop: EventLoop
    let backend: Backend
    let bridge: BridgeConfig
    let logger: Logger
    /// `--trace-frames`: where each SPDY and HTTP/2 connection's decoded frames go (nil: off).
    let traceSink: FrameTraceSink?
    /// Every session started here, once, when it ended.
    private let onEnd: (SessionRecord) -> Void
    /// An admitted request that never became a session: its place is released and it is audited.
    private let notStarted: (ExecRequest, RequestContext, RequestError) -> Void
    /// Sessions and their bytes for `--metrics-listen` (does nothing without it).
    private let meter: SessionByteMeter
    /// The `backend` label of this worker's sessions (`local`, `upstream`).
    private let backendKind: String

    init(loop: EventLoop, backend: Backend, bridge: BridgeConfig, logger: Logger, traceSink: FrameTraceSink?,
         onEnd: @escaping (SessionRecord) -> Void,
         notStarted: @escaping (ExecRequest, RequestContext, RequestError) -> Void) {
        self.loop = loop
        self.backend = backend
        self.bridge = bridge
        self.logger = logger
        self.traceSink = traceSink
        self.onEnd = onEnd
        self.notStarted = notStarted
        self.meter = SessionByteMeter(loop: loop)
        self.backendKind = GatewayMetrics.backendKind(backend)
    }

    /// Starts `request` between `frontend` and the backend, then replays `pending` into it.
    /// `attach` gets the bridge before anything moves, so that the frontend holds it when the
    /// first callback comes.
    /// `prepared`: what `prepare` returned at admission.
    func start(_ request: ExecRequest, context: RequestContext, frontend: SessionEndpoint,
               replaying early: PendingInput, prepared: PreparedBackend? = nil, attach: (Bridge) -> Void) {
        let onEnd = self.onEnd
        let meter = self.meter
        let kind = backendKind
        let session = Bridge(request: request, loop: loop, config: bridge, logger: logger) { ended in
            ended.context?.admission.release()
            let record = SessionRecord(ended)
            meter.ended(ended, record: record, backend: kind)
            onEnd(record)
        }
        session.context = context
        session.tap = bridge.tap?.tap(for: request, loop: loop, logger: logger)
        attach(session)
        meter.started(session, backend: kind)
        session.start(frontend: frontend, backend: backend, prepared: prepared?.take())
        var early = early
        early.replay(into: session, from: frontend)
    }

    /// Called when a request is admitted and the client still has channel streams to open: the
    /// backend may begin (dial its upstream) meanwhile. Keep the result until `start`; dropping
    /// it cancels what was begun.
    func prepare(_ request: ExecRequest) -> PreparedBackend? {
        backend.prepareSession(request, on: loop).map(PreparedBackend.init)
    }

    /// The client has `--stream-creation-timeout` to open every channel it asked for.
    func creationTimer(_ fired: @escaping () -> Void) -> LoopTimer {
        LoopTimer(loop: loop, after: bridge.streamCreationTimeout, fired)
    }

    static let creationTimeoutMessage = "timed out waiting for client to create streams"

    /// The creation timeout fired: the request is recorded as refused with 408 (as kubelet does).
    func creationTimedOut(_ request: ExecRequest, context: RequestContext) {
        notStarted(request, context, RequestError(code: 408, reason: "Timeout", message: Self.creationTimeoutMessage))
    }

    /// A frame trace for a new connection, or nil when tracing is off. `upgrade`: the HTTP/1.1
    /// request that switched the connection to `generation`, if any.
    func beginTrace(_ generation: TraceGeneration, upgrade: (ExecRequest, RequestContext)?) -> ConnectionTrace? {
        guard let traceSink else { return nil }
        let trace = ConnectionTrace(sink: traceSink, generation: generation)
        if let (request, context) = upgrade { trace.upgraded(request, context: context) }
        return trace
    }
}
