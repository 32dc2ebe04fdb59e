import ExecModel
import HTTP2

/// One forwarded connection on HTTP/2: DATA both ways on its data stream (END_STREAM is a
/// half-close, RST_STREAM aborts), the failure text as the error stream's body (an empty body:
/// success). Flow control is the backpressure toward the client: received DATA is credited back
/// once the bridge took it, and not while the tunnel is paused.
final class HTTP2Tunnel: SessionEndpoint {
    private weak var owner: HTTP2PortForwardStreams?
    private let h2: HTTP2Session
    let requestID: String
    let errorStream: Int32
    let dataStream: Int32
    var bridge: Bridge?
    private var reading = true
    private var owedCredit = 0
    private var dataEnded = false
    private var done = false

    init(owner: HTTP2PortForwardStreams, h2: HTTP2Session, requestID: String, errorStream: Int32, dataStream: Int32) {
        self.owner = owner
        self.h2 = h2
        self.requestID = requestID
        self.errorStream = errorStream
        self.dataStream = dataStream
    }

    var outputPending: Bool { h2.pendingBytes(stream: dataStream) > 0 || h2.pendingBytes(stream: errorStream) > 0 }

    // MARK: From the client

    func received(_ bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard stream == dataStream, !done, let bridge else {
            // Nothing flows from the client on the error stream, nor after the end.
            h2.consume(stream: stream, bytes: bytes.count)
            return
        }
        bridge.endpoint(self, emitted: .data(.stdin, bytes))
        if reading { h2.consume(stream: stream, bytes: bytes.count) } else { owedCredit += bytes.count }
    }

    func peerEnded(_ stream: Int32) {
        guard stream == dataStream, !done else { return }
        bridge?.endpoint(self, emitted: .halfClose(.stdin))
    }

    /// A stream closed: a reset before the end abandons the forwarded connection.
    func streamClosed(_ stream: Int32, errorCode: UInt32) {
        guard !done else { return }
        if errorCode != 0 || stream == errorStream {
            abandon()
        }
    }

    func connectionLost() {
        guard !done else { return }
        abandon()
    }

    private func abandon() {
        done = true
        for stream in [dataStream, errorStream] where h2.isOpen(stream: stream) {
            h2.resetStream(stream, errorCode: HTTP2ErrorCode.cancel)
        }
        if let bridge {
            self.bridge = nil
            bridge.endpoint(self, didEnd: .clientGone)
        }
        owner?.flush()
        owner?.tunnelEnded(self)
    }

    func drained() {
        bridge?.endpointDidDrain(self)
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard !done else { return }
        switch event {
        case .data(_, let bytes):
            guard !dataEnded, !bytes.isEmpty else { return }
            do { try h2.sendData(bytes, stream: dataStream) } catch {
                owner?.logger?.info("cannot send to port-forward client", metadata: ["error": "\(error)"])
                return abandon()
            }
            owner?.flush()
        case .halfClose:
            endData()
            owner?.flush()
        case .resize:
            break
        case .exit(let status):
            finish(with: status)
        }
    }

    private func endData() {
        guard !dataEnded else { return }
        dataEnded = true
        try? h2.endStream(dataStream)
    }

    /// The tunnel's end: the error text (if any) as the error stream's body, both streams ended;
    /// a client still sending is told to stop (RST_STREAM NO_ERROR after the end).
    private func finish(with status: ExecStatus) {
        guard !done else { return }
        done = true
        if let text = status.portForwardErrorText, !text.isEmpty {
            _ = try? h2.sendData(Array(text.utf8), stream: errorStream)
        }
        try? h2.endStream(errorStream)
        endData()
        for stream in [dataStream, errorStream] where h2.peerMaySend(stream: stream) {
            h2.resetAfterResponse(stream: stream)
        }
        owner?.flush()
        owner?.tunnelEnded(self)
    }

    var pendingBytes: Int { h2.pendingBytes(stream: dataStream) }

    func setReading(_ on: Bool) {
        reading = on
        guard on, owedCredit > 0, !done else { return }
        h2.consume(stream: dataStream, bytes: owedCredit)
        owedCredit = 0
        owner?.flush()
    }

    func terminate(_ reason: EndReason) {
        bridge = nil
        switch reason {
        case .completed:
            break
        case .clientGone:
            if !done { abandon() }
        case .backendGone, .timeout, .shutdown:
            finish(with: .internalError("session ended: \(reason.rawValue)"))
        }
    }
}
