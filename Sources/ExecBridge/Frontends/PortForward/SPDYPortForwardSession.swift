import ExecModel
import Logging
import Reactor
import SPDY

/// kubelet's SPDY port-forward (`portforward.k8s.io`) toward a client: per forwarded connection
/// the client opens an error stream then a data stream, both carrying `port` and `requestID`; the
/// pair becomes one tunnel (`SPDYTunnel`), a session of its own. The connection stays until the
/// client closes it; a tunnel failing ends only that tunnel.
///
/// Carried by the upgraded socket or by kubectl's WebSocket tunnel (`ByteCarrier`). spdystream
/// has no flow control, so backpressure toward the client is the carrier's: a tunnel whose pod
/// does not read pauses the whole connection until it drains, as kubelet's spdystream does.
final class SPDYPortForwardSession: SPDYSessionDelegate, CarrierListener {
    let carrier: ByteCarrier
    private let starter: TunnelStarter
    private(set) var spdy: SPDYSession!
    private(set) var state: ConnectionLifecycle = .open
    /// Streams waiting for the other half of their pair, by request ID.
    private var pairs: [String: StreamPair] = [:]
    /// Each tunnel under both its stream IDs.
    private var tunnels: [UInt32: SPDYTunnel] = [:]
    /// Tunnels that asked the client to stop sending: the carrier reads again when none does.
    private var pausing: Set<ObjectIdentifier> = []
    private let trace: ConnectionTrace?
    /// A connection that waits for its next forwarded connection says nothing for hours: a PING
    /// after each silent keepalive interval keeps proxies and NATs from cutting it.
    private var keepalive: LoopTimer?
    private var sawTraffic = false

    /// Streams of one forwarded connection before both exist.
    private struct StreamPair {
        var error: UInt32?
        var data: UInt32?
        var dataHeaders = SPDYHeaders()
        var dataFin = false
        var timer: LoopTimer?
    }

    /// Pairs that may wait for their other half at once; more are refused.
    static let maximumPendingPairs = 256

    var config: BridgeConfig { starter.launcher.bridge }
    var logger: Logger { starter.launcher.logger }

    init(carrier: ByteCarrier, starter: TunnelStarter, trace: ConnectionTrace?) {
        self.carrier = carrier
        self.starter = starter
        self.trace = trace
        // Two streams per forwarded connection: `--max-concurrent-streams` counts tunnels here.
        var limits = SPDYLimits()
        limits.maxConcurrentStreams = 2 * max(1, starter.launcher.bridge.maxConcurrentStreams)
        self.spdy = SPDYSession(role: .server, limits: limits, delegate: self)
        keepalive = LoopTimer(loop: carrier.loop, after: config.keepaliveInterval, repeats: true) { [weak self] in
            self?.keepaliveTick()
        }
    }

    private func keepaliveTick() {
        guard state == .open || state == .draining, let spdy else { return }
        if !sawTraffic { _ = spdy.ping() }
        sawTraffic = false
    }

    // MARK: Carrier

    func carrierReceived(_ bytes: UnsafeRawBufferPointer) {
        guard state != .closed, let spdy else { return }
        sawTraffic = true
        trace?.client(bytes)
        spdy.receive(bytes)
    }

    func carrierDrained() {
        guard state != .closed else { return }
        for (id, tunnel) in tunnels where id == tunnel.dataStream { tunnel.carrierDrained() }
    }

    func carrierClosed() {
        state = .closed
        keepalive?.cancel()
        trace?.end()
        for pair in pairs.values { pair.timer?.cancel() }
        pairs.removeAll()
        let open = tunnels.values
        tunnels.removeAll()
        for tunnel in open { tunnel.connectionLost() }
        spdy = nil
    }

    /// The gateway drains: running tunnels go on, no new one starts, the connection closes after the last.
    func drain() {
        guard state == .open else { return }
        state = .draining
        spdy?.goAway(status: .ok)
        closeIfDrained()
    }

    // MARK: SPDYSessionDelegate

    func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) {
        trace?.server(bytes)
        carrier.write(bytes)
    }

    func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        guard state == .open else {
            if state != .closed { s.reset(id, status: .refusedStream) }
            return
        }
        // client-go waits for each reply before it opens the next stream.
        do { try s.reply(to: id) } catch {
            s.reset(id, status: .protocolError)
            return
        }
        let type = headers["streamtype"]?.lowercased()
        guard type == "error" || type == "data" else {
            logger.info("port-forward stream of unknown type", metadata: ["streamtype": "\(headers["streamtype"] ?? "-")"])
            return s.reset(id, status: .protocolError)
        }
        let requestID = Self.requestID(headers["requestid"], stream: id, isData: type == "data")
        guard let requestID, PortForwardPorts.isValidRequestID(requestID) else {
            return s.reset(id, status: .protocolError)
        }
        var pair = pairs[requestID] ?? StreamPair()
        if pairs[requestID] == nil {
            guard pairs.count < Self.maximumPendingPairs else { return s.reset(id, status: .refusedStream) }
        }
        if type == "error" {
            guard pair.error == nil else { return s.reset(id, status: .protocolError) }
            pair.error = id
        } else {
            guard pair.data == nil else { return s.reset(id, status: .protocolError) }
            pair.data = id
            pair.dataHeaders = headers
            pair.dataFin = fin
        }
        if let error = pair.error, let data = pair.data {
            pair.timer?.cancel()
            pairs[requestID] = nil
            startTunnel(error: error, data: data, headers: pair.dataHeaders, dataFin: pair.dataFin)
        } else {
            if pair.timer == nil {
                pair.timer = starter.launcher.creationTimer { [weak self] in self?.pairTimedOut(requestID) }
            }
            pairs[requestID] = pair
        }
    }

    /// kubelet's pairing: the `requestID` header, or for clients older than it the error stream's
    /// ID (the data stream follows it, 2 later).
    static func requestID(_ header: String?, stream id: UInt32, isData: Bool) -> String? {
        if let header, !header.isEmpty { return header }
        if isData { return id > 2 ? String(id - 2) : nil }
        return String(id)
    }

    func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}

    func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        guard state == .open || state == .draining, let tunnel = tunnels[id], tunnel.dataStream == id else { return }
        tunnel.clientSent(bytes)
    }

    func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) {
        guard state == .open || state == .draining else { return }
        if let tunnel = tunnels[id], tunnel.dataStream == id { tunnel.clientFinished() }
    }

    func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {
        if let tunnel = tunnels[id] {
            tunnel.streamReset()
        } else if let (requestID, pair) = pairs.first(where: { $0.value.error == id || $0.value.data == id }) {
            pair.timer?.cancel()
            pairs[requestID] = nil
            for other in [pair.error, pair.data].compactMap({ $0 }) where other != id { s.reset(other, status: .cancel) }
        }
    }

    func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}

    func spdySession(_ s: SPDYSession, didUpdateSendWindow id: UInt32) {
        guard state != .closed else { return }
        if id == 0 {
            for (id, tunnel) in tunnels where id == tunnel.dataStream { tunnel.flushHeld() }
        } else {
            tunnels[id]?.flushHeld()
        }
    }

    func spdySession(_ s: SPDYSession, didFail error: SPDYError) {
        logger.info("SPDY protocol error from port-forward client", metadata: ["error": "\(error)"])
        guard state != .closed else { return }
        state = .closing
        carrier.finish(linger: config.closeLinger)
    }

    // MARK: Tunnels

    private func startTunnel(error: UInt32, data: UInt32, headers: SPDYHeaders, dataFin: Bool) {
        let tunnel = SPDYTunnel(owner: self, dataStream: data, errorStream: error)
        tunnels[data] = tunnel
        tunnels[error] = tunnel
        let portText = headers["port"] ?? ""
        switch PortForwardPorts.port(Substring(portText)) {
        case .failure(let refusal):
            tunnel.refuse(.failure(message: refusal.message, reason: refusal.reason, code: refusal.code))
        case .success(let port):
            tunnel.port = port
            if let refusal = starter.start(port: port, endpoint: tunnel, attach: { tunnel.bridge = $0 }) {
                tunnel.refuse(refusal)
            } else if dataFin {
                tunnel.clientFinished()
            }
        }
    }

    private func pairTimedOut(_ requestID: String) {
        guard let pair = pairs.removeValue(forKey: requestID), let spdy else { return }
        logger.info("port-forward stream pair incomplete", metadata: ["requestID": "\(requestID)"])
        if let error = pair.error {
            let text = Array("timed out waiting for the data stream of request \(requestID)".utf8)
            _ = try? text.withUnsafeBytes { try spdy.sendData($0, on: error) }
            try? spdy.finish(error)
        }
        if let data = pair.data { spdy.reset(data, status: .cancel) }
    }

    /// A tunnel will send nothing more and move nothing more.
    func forget(_ tunnel: SPDYTunnel) {
        if tunnels[tunnel.dataStream] === tunnel { tunnels[tunnel.dataStream] = nil }
        if tunnels[tunnel.errorStream] === tunnel { tunnels[tunnel.errorStream] = nil }
        setReading(true, for: tunnel)
        closeIfDrained()
    }

    func setReading(_ on: Bool, for tunnel: SPDYTunnel) {
        let id = ObjectIdentifier(tunnel)
        if on { pausing.remove(id) } else { pausing.insert(id) }
        guard state != .closed else { return }
        carrier.setReading(pausing.isEmpty)
    }

    private func closeIfDrained() {
        guard state == .draining, tunnels.isEmpty else { return }
        state = .closing
        carrier.finish(linger: config.closeLinger)
    }
}
