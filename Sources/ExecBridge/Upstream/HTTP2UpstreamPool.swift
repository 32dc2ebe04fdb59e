import Logging
import Reactor

/// One loop's HTTP/2 connections to the upstream (`h2c://`, `h2://`), shared by its sessions as
/// nghttpx shares its downstream connections: a session goes to the first connection with room
/// (`--backend-max-sessions-per-connection`, and the streams the upstream's
/// SETTINGS_MAX_CONCURRENT_STREAMS allows), else to a new one. One connection with room is kept
/// dialled ahead (at start, and again when the last one with room fills or dies) so that a
/// session's set-up costs no handshake. A connection that fails fails only its own sessions;
/// the next session finds or dials a healthy one. Confined to its loop: no locks.
///
/// Only prior knowledge and TLS pool: an h2c upgrade carries its session on the upgraded stream,
/// so it keeps a connection per session.
final class HTTP2UpstreamPool {
    private let config: UpstreamConfig
    private let loop: EventLoop
    private let logger: Logger
    private let maxSessions: Int
    private(set) var connections: [HTTP2ClientConnection] = []
    private var idleTimer: LoopTimer?
    private var respareTimer: LoopTimer?
    /// The last dial failed: nothing is dialled ahead until one succeeds (a dead upstream is
    /// dialled only for sessions that need it, not in a loop).
    private var upstreamDown = false
    private var closed = false
    /// The upstream's stream limit as the last connection learned it: assumed for a connection
    /// whose SETTINGS have not come yet, so that a burst does not overfill it (sessions that
    /// each hold some of their streams while waiting for the rest would wait for ever).
    /// Nil until the first SETTINGS came.
    private var streamLimit: Int?
    /// Exec sessions that came before any SETTINGS, beyond the one each connection then takes:
    /// placed when the limit is known (or their connection is gone). A guessed limit could put
    /// more sessions on a connection than it carries; each opens its error stream, and the
    /// rest of every one of them waits behind the others for ever.
    private var awaitingLimit: [() -> Void] = []
    /// Connections dialled so far (the log and tests).
    private(set) var dialled = 0
    /// `wss://`: the upstream answered without RFC 8441 (ALPN http/1.1, or no
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL). Sessions then dial their own HTTP/1.1 connections and
    /// the pool dials nothing more (a restart tries again).
    private(set) var lacksExtendedConnect = false
    /// Sessions on this pool's connections now (a node's pool without any may close).
    var sessionCount: Int { connections.reduce(0) { $0 + $1.sessionCount } }
    /// Sessions may come here (false once a `wss://` upstream turned out to lack RFC 8441).
    var carriesSessions: Bool { !lacksExtendedConnect }

    init(config: UpstreamConfig, loop: EventLoop, logger: Logger) {
        self.config = config
        self.loop = loop
        self.logger = logger
        self.maxSessions = max(1, config.maxSessionsPerConnection)
    }

    /// At worker start: the first session finds a connection open.
    func warmUp() {
        guard !closed else { return }
        ensureSpare()
        let period = max(0.05, config.poolIdleTimeout / 2)
        idleTimer = LoopTimer(loop: loop, after: period, repeats: true) { [weak self] in self?.closeIdle() }
    }

    /// Puts `client`'s session (with `streams` channel streams) on a connection with room.
    func assign(_ client: HTTP2ExecClient, streams: Int) {
        let found = connections.first { hasRoom($0, streams: streams, guessing: false) }
        guard let carrier = found ?? (learningLimit ? nil : dial()) else {
            awaitingLimit.append { [weak self, weak client] in
                if let client { self?.assign(client, streams: streams) }
            }
            return
        }
        client.onRefused = { [weak self] client, refusing in self?.refused(client, on: refusing, streams: streams) }
        client.start(sharing: carrier, reserving: streams)
        ensureSpare()
    }

    /// Puts a `wss://` session on a connection with room, as an extended CONNECT stream;
    /// `fallback` runs (and the pool learns for good) when the upstream cannot carry it.
    func assign(_ client: WebSocketExecClient, fallback: @escaping () -> Void) {
        let carrier = connections.first { hasRoom($0, streams: 1) } ?? dial()
        client.start(sharing: carrier) { [weak self] detail in
            self?.noExtendedConnect(detail)
            fallback()
        }
        ensureSpare()
    }

    /// Puts a port-forward tunnel (its error and data streams) on a connection with room.
    func assign(_ tunnel: HTTP2PortForwardTunnel) {
        let carrier = connections.first { hasRoom($0, streams: 2) } ?? dial()
        tunnel.start(on: carrier)
        ensureSpare()
    }

    private func noExtendedConnect(_ detail: String) {
        guard !lacksExtendedConnect else { return }
        lacksExtendedConnect = true
        logger.info("the upstream does not offer WebSocket over HTTP/2 (RFC 8441): one HTTP/1.1 connection per session",
                    metadata: ["upstream": "\(config.url.authority)", "detail": "\(detail)"])
        for carrier in connections {
            carrier.stopTakingSessions()
            if carrier.sessionCount == 0 { carrier.shutdown() }
        }
    }

    /// The upstream refused a new session on `carrier` (it carries fewer sessions per connection
    /// than we thought, one for a gateway without `exec-session`): no more go there, and the
    /// session moves, once, to a connection that has none yet.
    private func refused(_ client: HTTP2ExecClient, on carrier: HTTP2ClientConnection, streams: Int) {
        carrier.stopTakingSessions()
        logger.debug("upstream refused another session on a pooled connection",
                     metadata: ["upstream": "\(config.url.authority)", "sessions": "\(carrier.sessionCount - 1)"])
        let next = connections.first { $0.sessionCount == 0 && hasRoom($0, streams: streams) } ?? dial()
        client.move(to: next, reserving: streams)
        ensureSpare()
    }

    /// Closes every connection now (the worker stops: its loop runs no more).
    func close() {
        closed = true
        idleTimer?.cancel()
        respareTimer?.cancel()
        awaitingLimit.removeAll()
        for carrier in connections { carrier.closeNow() }
        connections.removeAll()
    }

    // MARK: Internals

    /// `guessing`: before any SETTINGS, nghttp2's default limit is assumed (safe for streams
    /// opened all at once: beyond the limit they wait in order); else such a connection takes
    /// one session only.
    private func hasRoom(_ carrier: HTTP2ClientConnection, streams: Int, guessing: Bool = true) -> Bool {
        guard carrier.phase != .closed, !carrier.refusesSessions, carrier.sessionCount < maxSessions else { return false }
        guard let limit = carrier.peerStreamLimit ?? streamLimit ?? (guessing ? 100 : nil) else {
            return carrier.sessionCount == 0
        }
        return carrier.reservedStreams + streams <= limit || carrier.sessionCount == 0
    }

    /// No SETTINGS yet, and a connection that will bring them is on its way.
    private var learningLimit: Bool {
        streamLimit == nil && connections.contains { $0.phase != .closed && !$0.refusesSessions && $0.peerStreamLimit == nil }
    }

    /// Places the sessions that waited for the limit (or for a connection that failed first).
    private func placeAwaiting() {
        guard !closed, !awaitingLimit.isEmpty, !learningLimit else { return }
        let waiting = awaitingLimit
        awaitingLimit = []
        for place in waiting { place() }
    }

    /// Dials one more when no connection could take another session.
    private func ensureSpare() {
        guard !closed, !upstreamDown, !lacksExtendedConnect, !connections.contains(where: { hasRoom($0, streams: 1) }) else { return }
        _ = dial()
    }

    private func dial() -> HTTP2ClientConnection {
        let carrier = HTTP2ClientConnection(loop: loop, settings: HTTP2ExecClient.settings,
                                              pingInterval: config.pingInterval, closesWhenUnused: false)
        connections.append(carrier)
        dialled += 1
        let started = EventLoop.now()
        carrier.onReady = { [weak self] carrier in
            GatewayMetrics.upstreamDialed(started: started, failure: nil)
            guard let self else { return }
            self.upstreamDown = false
            if let limit = carrier.peerStreamLimit { self.streamLimit = limit }
            defer { self.placeAwaiting() }
            // Learnt on the connection dialled ahead too, before any session depends on it.
            if self.config.url.scheme == .wss, carrier.h2?.peerAllowsExtendedConnect == false {
                self.noExtendedConnect("no SETTINGS_ENABLE_CONNECT_PROTOCOL")
            }
        }
        carrier.onSessionLeft = { [weak self] carrier in self?.sessionLeft(carrier) }
        carrier.onClosed = { [weak self] carrier in self?.lost(carrier) }
        let config = self.config
        let tls = config.url.scheme.usesTLS ? config.poolTLS : nil
        carrier.dial(to: config.address, tls: tls, serverName: tls == nil ? nil : config.serverName,
                     timeout: config.connectTimeout,
                     alpnRefusal: config.url.scheme.usesTLS ? "tls: the server at \(config.url.authority) did not agree to h2 by ALPN" : nil,
                     describe: { DialError.describe($0, upstream: config) },
                     socketError: { DialError.socket($0, upstream: config) })
        return carrier
    }

    private func sessionLeft(_ carrier: HTTP2ClientConnection) {
        // After GOAWAY it serves its last sessions, then goes.
        if carrier.refusesSessions, carrier.sessionCount == 0 { carrier.shutdown() }
        ensureSpare()
    }

    private func lost(_ carrier: HTTP2ClientConnection) {
        connections.removeAll { $0 === carrier }
        guard !closed else { return }
        defer { placeAwaiting() }
        if config.url.scheme == .wss, carrier.alpnDeclined { return noExtendedConnect("ALPN chose http/1.1") }
        if !carrier.heardServer {
            GatewayMetrics.upstreamDialed(started: carrier.openedAt, failure: carrier.lostBecause ?? "closed")
            upstreamDown = true
            return
        }
        logger.info("pooled upstream connection closed",
                    metadata: ["upstream": "\(config.url.authority)", "connections": "\(connections.count)"])
        // A server that closes every connection at once is re-dialled at most once a second.
        if EventLoop.now() - carrier.openedAt >= 1 { return ensureSpare() }
        respareTimer = LoopTimer(loop: loop, after: 1) { [weak self] in self?.ensureSpare() }
    }

    /// Connections unused for `poolIdleTimeout` close, except one kept for the next session.
    private func closeIdle() {
        let now = EventLoop.now()
        var keep = 1
        for carrier in connections where carrier.sessionCount == 0 {
            guard let since = carrier.unusedSince, now - since >= config.poolIdleTimeout else { continue }
            if keep > 0 && !carrier.refusesSessions {
                keep -= 1
                continue
            }
            carrier.shutdown()
        }
    }
}
