import ExecModel
import HTTP2
import Reactor

/// The session's side toward the bridge: output to the client's streams, the end of the session
/// (status on the error stream or in trailers), and backpressure.
extension HTTP2ExecSession {
    func receive(_ event: SessionEvent) {
        guard !ended else { return }
        switch event {
        case .data(let channel, let bytes):
            guard let stream = outputStream(for: channel) else { return }
            do { try h2.sendData(bytes, stream: stream) } catch { return sendFailed(error) }
            owner?.flush()
        case .halfClose(let channel):
            endedOutputs.insert(channel)
            if case .channels = mode, let stream = streams[channel], channel != .error {
                do { try h2.endStream(stream) } catch { return sendFailed(error) }
                owner?.flush()
            }
        case .resize:
            break
        case .exit(let status):
            finish(with: status)
        }
    }

    func outputStream(for channel: Channel) -> Int32? {
        switch mode {
        case .single(let s): return channel == .stdout || channel == .stderr ? s : nil
        case .channels: return channel == .stdout || channel == .stderr ? streams[channel] : nil
        }
    }

    /// Ends every stream in order: outputs, then the status, then the upgrade stream; then the
    /// connection says GOAWAY and closes when the client is done.
    func finish(with status: ExecStatus) {
        guard !ended else { return }
        ended = true
        creationTimer?.cancel()
        lingerTimer?.cancel()
        // stdin held back for a backend that is gone: credit it, so the client can end its request.
        for (stream, bytes) in owedCredit where bytes > 0 { h2.consume(stream: stream, bytes: bytes) }
        owedCredit.removeAll()
        pending.discard()
        switch mode {
        case .single(let stream):
            var trailers: [HTTP2Header] = []
            if let code = status.exitCode { trailers.append(HTTP2Header("exec-exit-code", String(code))) }
            trailers.append(HTTP2Header("exec-status", status.json))
            heldTrailers = trailers
            // While the client still sends its request, the status waits for the request's end
            // (curl 7.88 drops a response that ends first), bounded by the connection's linger.
            if !h2.peerMaySend(stream: stream) {
                submitHeldTrailers()
            } else {
                lingerTimer = LoopTimer(loop: loop, after: config.closeLinger) { [weak self] in
                    self?.abortUnfinishedRequest()
                }
            }
        case .channels(let upgradeStream):
            for channel in [Channel.stdout, .stderr] where !endedOutputs.contains(channel) {
                if let stream = streams[channel] { teardown("END_STREAM") { try h2.endStream(stream) } }
            }
            if let stream = streams[.error] {
                let bytes = status.encoded(for: request.version)
                if !bytes.isEmpty { teardown("status") { _ = try bytes.withUnsafeBytes { try h2.sendData($0, stream: stream) } } }
                teardown("END_STREAM") { try h2.endStream(stream) }
            } else if bridge == nil {
                // No error stream to carry the failure: answer the upgrade stream with it, if any.
                if let stream = upgradeStream { h2.resetStream(stream, errorCode: HTTP2ErrorCode.cancel) }
            }
            if let stream = upgradeStream { teardown("END_STREAM") { try h2.endStream(stream) } }
        }
        bridge = nil
        owner?.sessionEnded(self)
    }

    /// A step of the teardown: the session already ended, so a refusal (the stream is gone) only
    /// costs the client its status. Said, not swallowed.
    func teardown(_ step: String, _ body: () throws -> Void) {
        do { try body() } catch {
            logger.info("cannot send \(step) to the client", metadata: ["error": "\(error)"])
        }
    }

    /// A single-stream response is complete but the client is still sending its request, for the
    /// linger time or up to the connection's final GOAWAY. RST_STREAM(NO_ERROR) tells it the response stands and it may
    /// stop (RFC 9113 §8.1), rather than the stream dying unclean with the connection.
    func abortUnfinishedRequest() {
        lingerTimer?.cancel()
        lingerTimer = nil
        guard ended, case .single(let stream) = mode, h2.peerMaySend(stream: stream) else { return }
        h2.resetAfterResponse(stream: stream)
        submitHeldTrailers()
    }

    func submitHeldTrailers() {
        guard case .single(let stream) = mode, let trailers = heldTrailers else { return }
        heldTrailers = nil
        do { try h2.submitTrailers(stream: stream, headers: trailers) } catch {
            logger.info("cannot send the status trailers to the client", metadata: ["error": "\(error)"])
            teardown("END_STREAM") { try h2.endStream(stream) }
        }
        owner?.flush()
    }

    /// Output still queued in nghttp2 (waiting for the client's window).
    var outputPending: Bool {
        let outputs = Set([Channel.stdout, .stderr, .error].compactMap { streams[$0] } + singleStream)
        return outputs.contains { h2.pendingBytes(stream: $0) > 0 }
    }

    var singleStream: [Int32] {
        if case .single(let s) = mode { return [s] }
        return []
    }

    /// This session's queued output only. The connection's socket buffer is shared by every
    /// session: counting it here would pause this backend for another session's slow stream
    /// (the connection's `flush` bounds the socket, and then these queues fill).
    var pendingBytes: Int {
        // In single-stream mode stdout and stderr share one stream: count it once.
        let outputs = Set([Channel.stdout, .stderr].compactMap { outputStream(for: $0) })
        return outputs.reduce(0) { $0 + h2.pendingBytes(stream: $1) }
    }

    func setReading(_ on: Bool) {
        reading = on
        guard on else { return }
        for (stream, bytes) in owedCredit where bytes > 0 { h2.consume(stream: stream, bytes: bytes) }
        owedCredit.removeAll()
        owner?.flush()
    }

    func terminate(_ reason: EndReason) {
        switch reason {
        case .completed:
            break
        case .clientGone:
            // The client reset a stream it reads, or the socket went: this session alone ends.
            clientGone()
        case .backendGone, .timeout, .shutdown:
            finish(with: .internalError("session ended: \(reason.rawValue)"))
        }
        bridge = nil
    }
}
