import ExecModel

/// Where a worker is in a graceful stop, as the health answer and admission see it. One per
/// worker, touched only on its loop.
///
/// A load balancer needs two steps: first `/readyz` fails while everything else is still served
/// (`--drain-delay`: the balancer has time to notice and send new connections elsewhere), then
/// new sessions are refused with 503 and Retry-After while running ones finish (`--drain-timeout`).
/// Health probes are answered throughout, so a probe never sees a refused connection.
final class DrainState {
    enum Phase: Equatable {
        /// Ready: not draining.
        case serving
        /// SIGTERM received: `/readyz` answers 503, sessions are still admitted.
        case notReady
        /// New sessions are refused; running ones finish.
        case refusing
    }

    var phase: Phase = .serving
    /// Seconds a refused client is told to wait (the session limit's Retry-After).
    let retryAfter: Int

    init(retryAfter: Int) { self.retryAfter = retryAfter }

    /// The refusal of a new session (exec, attach, passthrough) in the refusing phase; nil otherwise.
    var refusal: RequestError? {
        guard phase == .refusing else { return nil }
        return RequestError(code: 503, reason: "ServiceUnavailable",
                            message: "the gateway is shutting down: retry, another replica will take the session",
                            headers: [RequestError.HeaderLine("Retry-After", String(retryAfter))])
    }
}
