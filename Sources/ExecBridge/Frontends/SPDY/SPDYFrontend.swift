import ExecModel
import Logging
import Reactor
import SPDY

/// The legacy generation toward a client: a SPDY/3.1 connection whose streams, told apart by
/// `streamtype`, are the channels of one exec session.
///
/// The real peer is moby/spdystream: it drops DATA that arrives before a stream's SYN_REPLY, has
/// no flow control, and stops reading at GOAWAY. So each stream is answered as it arrives, output
/// waits for the reply, backpressure toward the client is the socket's own, and GOAWAY comes only
/// after every channel was finished.
final class SPDYFrontend: ConnectionHandler, SPDYSessionDelegate, SessionEndpoint {
    private let connection: Connection
    private let launcher: SessionLauncher
    private var request: ExecRequest
    private let context: RequestContext
    private var session: SPDYSession!
    private var streams: [Channel: UInt32] = [:]
    private var channels: [UInt32: Channel] = [:]
    private var bridge: Bridge?
    private var resize = ResizeDecoder()
    /// What a 2015 client wrote before every stream existed, bounded by the channel budget.
    private var pending: PendingInput
    private var creationTimer: LoopTimer?
    /// The backend begun at admission (its upstream dialled while the streams arrive).
    private var prepared: PreparedBackend?
    private var keepalive: LoopTimer?
    private var sawTraffic = false
    private var ended = false
    /// Every SPDY callback checks it: frames parsed after the session's end start nothing.
    private var state: ConnectionLifecycle = .open
    private let safeClose = ParseSafeClose()
    private var reading = true
    /// Output a flow-controlling peer's window did not take yet (spdystream never limits us).
    private var heldOutput: [Channel: [UInt8]] = [:]
    private var finAfterHeld: Set<Channel> = []
    /// `--trace-frames`: the decoded frames of this connection.
    private let trace: ConnectionTrace?

    private var config: BridgeConfig { launcher.bridge }
    private var logger: Logger { launcher.logger }

    init(connection: Connection, request: ExecRequest, context: RequestContext, launcher: SessionLauncher) {
        self.connection = connection
        self.request = request
        self.context = context
        self.launcher = launcher
        self.pending = PendingInput(limit: launcher.bridge.channelBudget)
        self.trace = launcher.beginTrace(.spdy, upgrade: (request, context))
        self.session = SPDYSession(role: .server, delegate: self)
        connection.setOutputLowWater(launcher.bridge.lowWater)
        creationTimer = launcher.creationTimer { [weak self] in self?.streamCreationTimedOut() }
        prepared = launcher.prepare(request)
        keepalive = LoopTimer(loop: connection.loop, after: config.keepaliveInterval, repeats: true) { [weak self] in
            self?.keepaliveTick()
        }
    }

    // MARK: ConnectionHandler

    func connectionDidRead(_ connection: Connection) {
        guard reading, state != .closed, let session else { return }
        sawTraffic = true
        safeClose.parse(connection) {
            connection.consumeInput { chunk in
                guard state != .closed, !safeClose.isPending else { return chunk.count }
                trace?.client(chunk)
                session.receive(chunk)
                return chunk.count
            }
        }
    }

    func connectionDidDrain(_ connection: Connection) {
        guard state != .closed else { return }
        bridge?.endpointDidDrain(self)
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        state = .closed
        trace?.end()
        creationTimer?.cancel()
        keepalive?.cancel()
        if let bridge, !ended {
            ended = true
            bridge.endpoint(self, didEnd: .clientGone)
        }
        bridge = nil
        session = nil
    }

    // MARK: SPDYSessionDelegate

    func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) {
        trace?.server(bytes)
        connection.write(bytes)
    }

    func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) {
        guard state == .open else {
            // The session is over (or the socket): a stream opened now gets nothing started.
            if state != .closed { s.reset(id, status: .refusedStream) }
            return
        }
        // Reply at once: client-go waits for each reply before it opens the next stream.
        do {
            try s.reply(to: id)
        } catch {
            // A stream left unanswered is one client-go waits on forever: refuse it instead.
            logger.info("cannot answer a stream", metadata: ["error": "\(error)"])
            s.reset(id, status: .protocolError)
            return
        }
        guard let type = headers["streamtype"], let channel = Channel(streamType: type.lowercased()) else {
            logger.debug("ignoring stream of unknown type", metadata: ["streamtype": "\(headers["streamtype"] ?? "-")"])
            return
        }
        guard streams[channel] == nil, bridge == nil || channel == .resize else {
            s.reset(id, status: .protocolError)
            return
        }
        streams[channel] = id
        channels[id] = channel
        if fin { spdySession(s, didReceiveFin: id) }
        startIfReady()
    }

    func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}

    func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
        guard state == .open else { return }
        switch channels[id] {
        case .stdin:
            if let bridge {
                bridge.endpoint(self, emitted: .data(.stdin, bytes))
            } else {
                pending.append(stdin: bytes)
                if pending.isOverLimit { setReading(false) }
            }
        case .resize:
            deliverResize(bytes)
        default:
            break // nothing else flows from the client
        }
    }

    func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) {
        guard state == .open, channels[id] == .stdin else { return }
        if let bridge {
            bridge.endpoint(self, emitted: .halfClose(.stdin))
        } else {
            pending.endStdin()
        }
    }

    func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {
        // A reset output channel is no longer written; the session goes on (kubectl resets
        // streams only as it leaves, and then the connection closes).
        if let channel = channels[id] {
            streams[channel] = nil
            channels[id] = nil
        }
    }

    func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {
        // The client is leaving; the connection's close ends the session.
    }

    func spdySession(_ s: SPDYSession, didUpdateSendWindow id: UInt32) {
        guard state != .closed else { return }
        flushHeldOutput()
    }

    func spdySession(_ s: SPDYSession, didFail error: SPDYError) {
        logger.info("SPDY protocol error from client", metadata: ["error": "\(error)"])
        guard state != .closed else { return }
        state = .closing
        connection.closeGracefully(linger: config.closeLinger)
    }

    // MARK: Session start

    private func startIfReady() {
        guard bridge == nil, !ended, request.expectedChannels.isSubset(of: Set(streams.keys)) else { return }
        creationTimer?.cancel()
        creationTimer = nil
        launcher.start(request, context: context, frontend: self, replaying: pending.take(), prepared: prepared) { self.bridge = $0 }
        if !reading, !pending.holdsStdin { setReading(true) }
    }

    private func deliverResize(_ bytes: UnsafeRawBufferPointer) {
        do {
            for size in try resize.feed(bytes) {
                if let bridge { bridge.endpoint(self, emitted: .resize(size)) } else { pending.resized(size) }
            }
        } catch {
            logger.info("bad resize data from client; ignoring the resize stream")
            if let id = streams[.resize] { session.reset(id, status: .protocolError) }
        }
    }

    private func streamCreationTimedOut() {
        guard bridge == nil, !ended else { return }
        logger.info("timed out waiting for client to create streams",
                    metadata: ["have": "\(streams.keys.map(\.streamType).sorted())"])
        prepared = nil
        launcher.creationTimedOut(request, context: context)
        finishSession(with: .internalError(SessionLauncher.creationTimeoutMessage))
    }

    private func keepaliveTick() {
        guard let session, !ended else { return }
        if !sawTraffic { _ = session.ping() }
        sawTraffic = false
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard let session, !ended else { return }
        switch event {
        case .data(let channel, let bytes):
            guard let id = streams[channel] else { return }
            if heldOutput[channel] != nil {
                heldOutput[channel]!.append(contentsOf: bytes)
                return
            }
            let sent: Int
            do { sent = try session.sendData(bytes, on: id) } catch { return sendFailed(error) }
            if sent < bytes.count { heldOutput[channel] = Array(bytes[sent...]) }
        case .halfClose(let channel):
            guard let id = streams[channel] else { return }
            if heldOutput[channel] != nil {
                finAfterHeld.insert(channel)
                return
            }
            do { try session.finish(id) } catch { return sendFailed(error) }
            streams[channel] = nil
        case .resize:
            break
        case .exit(let status):
            finishSession(with: status)
        }
    }

    private func flushHeldOutput() {
        guard let session else { return }
        for (channel, bytes) in heldOutput {
            guard let id = streams[channel] else {
                heldOutput[channel] = nil
                continue
            }
            do {
                let sent = try bytes.withUnsafeBytes { try session.sendData($0, on: id) }
                if sent < bytes.count {
                    heldOutput[channel] = Array(bytes[sent...])
                } else {
                    heldOutput[channel] = nil
                    if finAfterHeld.remove(channel) != nil {
                        try session.finish(id)
                        streams[channel] = nil
                    }
                }
            } catch {
                return sendFailed(error)
            }
        }
        if heldOutput.isEmpty, let status = statusAfterHeld {
            statusAfterHeld = nil
            writeStatusAndGoAway(status)
        } else {
            bridge?.endpointDidDrain(self)
        }
    }
    private var statusAfterHeld: ExecStatus?

    /// The session refused a send (it failed, or the stream is closed for sending): the bytes
    /// cannot reach the client, so the session ends as the client's loss, never as delivered.
    private func sendFailed(_ error: Error) {
        logger.info("cannot send to client: ending the session", metadata: ["error": "\(error)"])
        heldOutput.removeAll()
        guard !ended, let bridge else { return safeClose.close(connection) }
        ended = true
        if state == .open { state = .closing }
        self.bridge = nil
        bridge.endpoint(self, didEnd: .clientGone)
        safeClose.close(connection)
    }

    /// The modern teardown: the last output was written, stdout/stderr get FIN, the status goes on
    /// the error stream with FIN, then GOAWAY, then the socket closes once the client is done.
    private func finishSession(with status: ExecStatus) {
        guard session != nil, !ended else { return }
        ended = true
        if state == .open { state = .closing }
        keepalive?.cancel()
        creationTimer?.cancel()
        if !heldOutput.isEmpty {
            // The last output is still waiting for window: the status follows it.
            statusAfterHeld = status
            return
        }
        writeStatusAndGoAway(status)
    }

    private func writeStatusAndGoAway(_ status: ExecStatus) {
        guard let session else { return }
        for channel in [Channel.stdout, .stderr] {
            if let id = streams[channel] { teardown("FIN") { try session.finish(id) } }
        }
        if let id = streams[.error] {
            let bytes = status.encoded(for: request.version)
            if !bytes.isEmpty { teardown("status") { _ = try bytes.withUnsafeBytes { try session.sendData($0, on: id) } } }
            teardown("FIN") { try session.finish(id) }
        }
        session.goAway(status: .ok)
        connection.closeGracefully(linger: config.closeLinger)
    }

    /// A step of the teardown: the session already ended, so a refusal (the client reset the
    /// stream, the session failed) only costs the client its status. Said, not swallowed.
    private func teardown(_ step: String, _ body: () throws -> Void) {
        do { try body() } catch {
            logger.info("cannot send \(step) to the client", metadata: ["error": "\(error)"])
        }
    }

    var pendingBytes: Int { connection.outputCount + heldOutput.values.reduce(0) { $0 + $1.count } }

    func setReading(_ on: Bool) {
        reading = on
        if on { connection.resumeReading() } else { connection.pauseReading() }
    }

    func terminate(_ reason: EndReason) {
        bridge = nil
        switch reason {
        case .completed:
            break // finishSession already runs the orderly teardown
        case .clientGone:
            // Never mid-parse: the SPDY decoder reads the connection's input buffer in place.
            if state != .closed { state = .closing }
            safeClose.close(connection)
        case .backendGone, .timeout, .shutdown:
            if !ended { finishSession(with: .internalError("session ended: \(reason.rawValue)")) }
        }
    }
}
