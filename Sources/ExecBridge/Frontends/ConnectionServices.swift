import HTTP1
import Reactor

/// What a connection handler of one worker is given: the session launcher, the request pipeline
/// and the HTTP timing rules. Deliberately not the worker: a handler cannot reach the listeners,
/// the other connections or the whole configuration.
struct ConnectionServices {
    let launcher: SessionLauncher
    let pipeline: RequestPipeline
    let headLimits: HTTPParseLimits
    /// A request head must arrive within this many seconds.
    let headTimeout: Double
    /// An idle keep-alive connection (HTTP/1.1, or HTTP/2 without streams) closes after this.
    let keepAliveTimeout: Double
    /// The connection now speaks `proto` (after an upgrade or the HTTP/2 preface): open
    /// connections by protocol in the metrics.
    var switched: (Connection, GatewayMetrics.ConnectionProtocol) -> Void = { _, _ in }
}
