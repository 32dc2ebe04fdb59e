import ExecModel

/// Counts every refusal where the audit hears of it (`RequestPipeline.observers`): exec
/// admission, `notStarted`, `refusedBeforeAdmission` and the plain-request refusals. Sessions
/// that started are counted by the launcher's `SessionByteMeter`, not here.
final class MetricsObserver: SessionObserver {
    private let backend: String

    init(backend: String) {
        self.backend = backend
    }

    func refused(_ request: ExecRequest, context: RequestContext, error: RequestError) {
        GatewayMetrics.refused(request.kind.rawValue, status: error.code, reason: error.reason, request: request,
                               context: context, backend: backend)
    }

    func observed(_ event: RequestEvent) {
        guard case .refused(let error) = event.outcome else { return }
        GatewayMetrics.refused(event.kind.rawValue, status: error.code, reason: error.reason, request: event.request,
                               context: event.context, backend: backend)
    }

    func ended(_ record: SessionRecord) {}
}

/// Adds the metrics observer to every worker's pipeline (`--metrics-listen` only).
struct MetricsExtension: PipelineExtension {
    func install(into pipeline: RequestPipeline) {
        pipeline.observers.append(MetricsObserver(backend: GatewayMetrics.backendKind(pipeline.backend)))
    }
}
