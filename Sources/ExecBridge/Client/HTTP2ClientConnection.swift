import ExecModel
import Glibc
import HTTP1
import HTTP2
import Reactor

/// One session's channel streams on an HTTP/2 client connection: what the connection tells it.
/// The connection dispatches by stream id; a set never hears of another session's streams.
protocol HTTP2StreamSet: AnyObject {
    /// Streams may be opened now. `upgradedStream`: after an h2c upgrade, stream 1 (the set's
    /// own upgrade request, whose answer carries the version).
    func carrierReady(_ carrier: HTTP2ClientConnection, upgradedStream: Int32?)
    func carrier(_ carrier: HTTP2ClientConnection, headers: [HTTP2Header], stream: Int32, isTrailer: Bool)
    func carrier(_ carrier: HTTP2ClientConnection, data: UnsafeRawBufferPointer, stream: Int32)
    func carrier(_ carrier: HTTP2ClientConnection, endStream stream: Int32)
    func carrier(_ carrier: HTTP2ClientConnection, closedStream stream: Int32, errorCode: UInt32)
    /// A stream's queue, or the socket's, drained: producers may continue.
    func carrierDrained(_ carrier: HTTP2ClientConnection)
    /// The connection is gone (or refused the set): `detail` for the log and the dial error;
    /// `refusal` when an h2c upgrade was answered with a status instead of 101.
    func carrierLost(_ carrier: HTTP2ClientConnection, detail: String, refusal: ExecStatus?)
    /// The server's first SETTINGS came (what it allows, e.g. RFC 8441, is known from now on).
    func carrierSettled(_ carrier: HTTP2ClientConnection)
}

extension HTTP2StreamSet {
    func carrierSettled(_ carrier: HTTP2ClientConnection) {}
}

/// One HTTP/2 client connection carrying the channel streams of many sessions, as nghttpx's
/// downstream `Http2Session` does: it owns the socket and the nghttp2 client session, the
/// keepalive PING, and the map from stream id to the session that opened it. A failure of the
/// connection fails exactly the sessions on it; one session's end only closes its own streams.
///
/// A private carrier (the CLI, an h2c upgrade) ends with its only session; a pooled one stays
/// open for the next (`HTTP2UpstreamPool`).
final class HTTP2ClientConnection: ConnectionHandler, HTTP2SessionDelegate {
    enum Phase: Equatable { case connecting, upgrading, ready, closed }

    let loop: EventLoop
    private(set) var phase = Phase.connecting
    private(set) var h2: HTTP2Session?
    private var connection: Connection?
    private let settings: HTTP2Settings
    private let pingInterval: Double
    private var pingTimer: LoopTimer?
    private var dialTimer: LoopTimer?
    private var sets: [ObjectIdentifier: HTTP2StreamSet] = [:]
    private var owners: [Int32: HTTP2StreamSet] = [:]
    /// The HTTP/1.1 request that asks for h2c (upgrade transport only).
    private let upgradeRequest: [UInt8]?
    private var answer = UpgradeAnswer()
    private let safeClose = ParseSafeClose()
    private let closesWhenUnused: Bool
    /// The dial's wording of a failure (DialError for the upstream backend).
    private var describeDialFailure: (Connection.CloseReason) -> String = { "cannot connect: \($0)" }
    /// Told once when the connection is gone, and each time a session leaves (the pool's bookkeeping).
    var onClosed: ((HTTP2ClientConnection) -> Void)?
    var onSessionLeft: ((HTTP2ClientConnection) -> Void)?
    var onReady: ((HTTP2ClientConnection) -> Void)?
    /// Why the connection failed (nil while it lives, or after an orderly end).
    private(set) var lostBecause: String?
    /// The server answered in HTTP/2 (its SETTINGS parsed): a failure before that says the
    /// upstream is down or is no HTTP/2 server, and the pool dials no spare for it.
    private(set) var heardServer = false
    /// TLS agreed on something other than h2 (a `wss://` upstream then speaks HTTP/1.1 only).
    private(set) var alpnDeclined = false
    let openedAt = EventLoop.now()
    /// The peer sent GOAWAY or the connection is closing: no new session may come.
    private(set) var refusesSessions = false
    /// When it last had no session (nil while it has some).
    private(set) var unusedSince: Double? = EventLoop.now()
    private var lastTokens: UInt64 = 0

    /// `upgradeRequest`: the h2c upgrade request, for the upgrade transport.
    init(loop: EventLoop, settings: HTTP2Settings, pingInterval: Double, upgradeRequest: [UInt8]? = nil,
         closesWhenUnused: Bool) {
        self.loop = loop
        self.settings = settings
        self.pingInterval = pingInterval
        self.upgradeRequest = upgradeRequest
        self.closesWhenUnused = closesWhenUnused
    }

    // MARK: Opening

    /// Dials `address`; `timeout` bounds TCP and TLS. `alpnRefusal`: for `h2://`, the failure
    /// when the server did not agree to h2 by ALPN.
    func dial(to address: SocketAddress, tls: TLSContext?, serverName: String?, timeout: Double,
              alpnRefusal: String?, describe: @escaping (Connection.CloseReason) -> String,
              socketError: (Int32) -> String) {
        describeDialFailure = describe
        self.alpnRefusal = alpnRefusal
        guard let connection = Connection.connect(loop: loop, to: address, tls: tls, serverName: serverName, handler: self) else {
            if phase != .closed { lose(socketError(errno)) }
            return
        }
        guard phase == .connecting else { return }
        Socket.boundBuffers(connection.fd)
        self.connection = connection
        dialTimer = LoopTimer(loop: loop, after: timeout) { [weak self] in
            guard let self, self.phase == .connecting else { return }
            self.lose(describe(.timeout))
        }
    }

    private var alpnRefusal: String?

    /// Runs on a connection already open (the upstream session dialled it itself).
    func adopt(_ connection: Connection) {
        self.connection = connection
        connection.handler = self
        connectionDidConnect(connection)
        if connection.inputCount > 0 { connectionDidRead(connection) }
    }

    /// The next `exec-session` token: unique among this connection's sessions.
    func nextSessionToken() -> String {
        lastTokens += 1
        return "s\(lastTokens)"
    }

    // MARK: Sessions

    var sessionCount: Int { sets.count }
    /// Streams the sessions on it may open at once (each counted at its most).
    private(set) var reservedStreams = 0
    private var reservations: [ObjectIdentifier: Int] = [:]
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (nil until its SETTINGS came).
    var peerStreamLimit: Int? {
        guard phase == .ready, heardServer, let h2 else { return nil }
        return Int(h2.peerMaxConcurrentStreams)
    }

    /// The set hears `carrierReady` when the connection is up; if it is already, the set opens
    /// its streams itself.
    func attach(_ set: HTTP2StreamSet, reserving streams: Int = 0) {
        sets[ObjectIdentifier(set)] = set
        reservations[ObjectIdentifier(set)] = streams
        reservedStreams += streams
        unusedSince = nil
    }

    /// The set is done with this connection: its streams still open are reset (`errorCode`).
    func detach(_ set: HTTP2StreamSet, resetting streams: [Int32], errorCode: UInt32) {
        guard sets.removeValue(forKey: ObjectIdentifier(set)) != nil else { return }
        reservedStreams -= reservations.removeValue(forKey: ObjectIdentifier(set)) ?? 0
        owners = owners.filter { $0.value !== set }
        if sets.isEmpty { unusedSince = EventLoop.now() }
        // A connection of its own ends with the session: GOAWAY says it all.
        if sets.isEmpty, closesWhenUnused { return shutdown(errorCode: errorCode) }
        // Shared: the session's streams still open go, so their slots serve the next session.
        for id in streams where phase == .ready && h2?.isOpen(stream: id) == true {
            h2?.resetStream(id, errorCode: errorCode)
        }
        flush()
        onSessionLeft?(self)
    }

    func submitRequest(_ headers: [HTTP2Header], hasBody: Bool, for set: HTTP2StreamSet) throws -> Int32 {
        guard let h2, phase == .ready else { throw HTTP2Error.invalidState("connection not ready") }
        let id = try h2.submitRequest(headers: headers, hasBody: hasBody)
        owners[id] = set
        return id
    }

    func flush() {
        guard phase == .ready else { return }
        h2?.flush()
    }

    var outputCount: Int { connection?.outputCount ?? 0 }

    /// GOAWAY and a graceful close; sessions still on it are lost.
    func shutdown(errorCode: UInt32 = HTTP2ErrorCode.noError) {
        guard phase != .closed else { return }
        refusesSessions = true
        guard phase == .ready, let connection else { return lose("closed") }
        h2?.terminate(errorCode: errorCode)
        flush()
        connection.closeGracefully(linger: 1)
    }

    /// GOAWAY written if the socket takes it at once, then closed: the loop is about to stop.
    func closeNow() {
        guard phase != .closed else { return }
        if phase == .ready {
            h2?.terminate(errorCode: HTTP2ErrorCode.noError)
            flush()
        }
        lose("the gateway stopped")
    }

    /// The peer carries no more sessions here; those on it finish.
    func stopTakingSessions() {
        refusesSessions = true
    }

    /// Closes the socket at once (as a killed client would).
    func abort() {
        refusesSessions = true
        safeClose.close(connection)
    }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: Connection) {
        guard phase == .connecting else { return }
        dialTimer?.cancel()
        dialTimer = nil
        if let alpnRefusal, connection.negotiatedALPN != "h2" {
            alpnDeclined = true
            return lose(alpnRefusal)
        }
        let session = HTTP2Session(role: .client, delegate: self, settings: settings)
        h2 = session
        if pingInterval > 0 {
            // client-go pings every 5 s; idle legs through load balancers stay open.
            pingTimer = LoopTimer(loop: loop, after: pingInterval, repeats: true) { [weak self] in
                guard let self, self.phase == .ready, let h2 = self.h2 else { return }
                h2.ping()
                h2.flush()
            }
        }
        if let upgradeRequest {
            phase = .upgrading
            connection.write(upgradeRequest)
            return
        }
        do {
            try session.start()
        } catch {
            return lose("HTTP/2 start failed: \(error)")
        }
        becomeReady(upgradedStream: nil)
    }

    func connectionDidRead(_ connection: Connection) {
        guard phase == .upgrading || phase == .ready else { return }
        safeClose.parse(connection) {
            if phase == .upgrading { readUpgradeAnswer(connection) }
            guard phase == .ready, let h2 else { return }
            connection.consumeInput { chunk in
                // Once closing for good, the rest is dropped unparsed.
                guard phase == .ready, !safeClose.isPending else { return chunk.count }
                do {
                    try h2.receive(chunk)
                    if !heardServer {
                        heardServer = true
                        onReady?(self)
                        for set in Array(sets.values) where phase == .ready { set.carrierSettled(self) }
                    }
                } catch {
                    lose("HTTP/2 error from server: \(error)")
                }
                return chunk.count
            }
        }
    }

    func connectionDidDrain(_ connection: Connection) {
        h2?.flush()
        for set in Array(sets.values) { set.carrierDrained(self) }
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        // Frames behind the one that closed us, in a buffer nghttp2 may be parsing, are dropped.
        h2?.halt()
        self.connection = nil
        switch phase {
        case .connecting: lose(describeDialFailure(reason))
        case .upgrading: lose("connection closed before the upgrade answer", refusal: answer.pendingRefusal)
        default: lose("connection closed")
        }
    }

    private func readUpgradeAnswer(_ connection: Connection) {
        switch answer.read(connection) {
        case .needMore:
            return
        case .malformed(let message):
            lose("bad upgrade response: \(message)")
        case .refused(_, let status):
            lose("upgrade refused", refusal: status)
        case .switched:
            do {
                try h2?.clientUpgraded()
            } catch {
                return lose("h2c upgrade failed: \(error)")
            }
            // Stream 1 is the upgrade request: the only set's.
            if let set = sets.values.first { owners[1] = set }
            becomeReady(upgradedStream: 1)
        }
    }

    private func becomeReady(upgradedStream: Int32?) {
        phase = .ready
        for set in Array(sets.values) where phase == .ready { set.carrierReady(self, upgradedStream: upgradedStream) }
        flush()
    }

    /// The connection failed: every session on it hears it, once; then the socket closes.
    private func lose(_ detail: String, refusal: ExecStatus? = nil) {
        guard phase != .closed else { return }
        phase = .closed
        lostBecause = detail
        refusesSessions = true
        pingTimer?.cancel()
        dialTimer?.cancel()
        h2?.halt()
        let lost = Array(sets.values)
        sets.removeAll()
        reservations.removeAll()
        reservedStreams = 0
        owners.removeAll()
        safeClose.close(connection)
        for set in lost { set.carrierLost(self, detail: detail, refusal: refusal) }
        let onClosed = self.onClosed
        self.onClosed = nil
        onClosed?(self)
    }

    // MARK: HTTP2SessionDelegate

    func http2Session(_ s: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    func http2Session(_ s: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        owners[stream]?.carrier(self, headers: headers, stream: stream, isTrailer: isTrailer)
    }

    func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard let owner = owners[stream] else { return s.consume(stream: stream, bytes: bytes.count) }
        owner.carrier(self, data: bytes, stream: stream)
    }

    func http2Session(_ s: HTTP2Session, didReceiveEndStream stream: Int32) {
        owners[stream]?.carrier(self, endStream: stream)
    }

    func http2Session(_ s: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        guard let owner = owners.removeValue(forKey: stream) else { return }
        owner.carrier(self, closedStream: stream, errorCode: errorCode)
    }

    func http2Session(_ s: HTTP2Session, streamCanSendMore stream: Int32) {
        owners[stream]?.carrierDrained(self)
    }

    func http2Session(_ s: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32) {
        // Streams above lastStreamID are closed by nghttp2 (REFUSED_STREAM): their sessions fail
        // alone; the others finish. No new session comes here.
        refusesSessions = true
        onSessionLeft?(self)
    }
}
