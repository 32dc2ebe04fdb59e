import HTTP1
import Logging
import Reactor

/// The side-by-side mode of an upstream backend: a request that is not the gateway's own (not
/// exec, attach, health or discovery) goes to the same upstream as plain HTTP/1.1, so ExecBridge
/// can stand in front of an existing proxy or kubelet without breaking its other routes.
///
/// One upstream connection per request; hop-by-hop headers are dropped (RFC 9110 §7.6.1), and so
/// are the client's identity claims (`Impersonate-*`, `X-Remote-*`, `X-Forwarded-*`: an upstream
/// behind the gateway may trust them) and its `Authorization` (unless
/// `--passthrough-forward-authorization`); the gateway writes its own `X-Forwarded-*`. Bodies
/// stream both ways with backpressure. The gateway's own credentials (bearer token, client
/// certificate) are never added: they are for exec sessions, and lending them to arbitrary
/// requests would let anyone reach the upstream as the gateway.
final class PassthroughProxy: PassthroughHandler {
    let upstream: UpstreamConfig
    let loop: EventLoop
    let logger: Logger
    /// Bytes one direction may hold before its reader is paused.
    let budget: Int

    init(upstream: UpstreamConfig, loop: EventLoop, logger: Logger, budget: Int) {
        self.upstream = upstream
        self.loop = loop
        self.logger = logger
        self.budget = budget
    }

    func take(_ connection: Connection, head: HTTPRequestHead, context: RequestContext,
              admission: PassthroughAdmission) -> Bool {
        PassthroughExchange.start(client: connection, head: head, peer: context.peer, proxy: self, admission: admission)
        return true
    }
}

/// Installs the passthrough on every worker when the backend is remote and `--passthrough` is on.
struct PassthroughExtension: PipelineExtension {
    let upstream: UpstreamConfig
    let logger: Logger

    func install(into pipeline: RequestPipeline) {
        pipeline.passthrough = PassthroughProxy(upstream: upstream, loop: pipeline.loop, logger: logger,
                                                budget: pipeline.channelBudget)
    }
}
