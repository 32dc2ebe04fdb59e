import ExecModel
import HTTP2
import Reactor

/// One forwarded connection in ExecBridge's HTTP/2 port-forward form (docs/protocol.md): two
/// request streams on an `HTTP2ClientConnection`, `streamtype: error` then `streamtype: data`,
/// with `port` and the `requestid` that pairs them, sent in one write. Each is answered
/// `:status 200` (a refusal is an HTTP answer whose body is a Status). DATA both ways on the data
/// stream, END_STREAM half-closes; the error stream carries the failure text, then END_STREAM.
///
/// The connection is the CLI's own (`HTTP2PortForwardClient`) or one of the upstream pool's; a
/// tunnel never hears of another's streams.
public final class HTTP2PortForwardTunnel: HTTP2StreamSet, SessionEndpoint {
    public let port: UInt16
    public private(set) var isReady = false
    public private(set) var lastFailure: ExecStatus?

    private let options: ExecClientOptions
    private let secure: Bool
    private weak var delegate: SessionEndpointDelegate?
    private var carrier: HTTP2ClientConnection?
    private var requestID = ""
    private var errorStream: Int32?
    private var dataStream: Int32?
    private var answered: Set<Int32> = []
    private var refusal: (status: Int, body: [UInt8])?
    private var state = PortForwardTunnelState()
    private var queued = PendingInput(limit: .max)
    private var finished = false
    private var reading = true
    private var owedCredit = 0
    private var stdinEnded = false

    init(options: ExecClientOptions, port: UInt16, secure: Bool, delegate: SessionEndpointDelegate) {
        self.options = options
        self.port = port
        self.secure = secure
        self.delegate = delegate
    }

    /// Joins `carrier`; the streams go as soon as it is up.
    func start(on carrier: HTTP2ClientConnection) {
        self.carrier = carrier
        requestID = carrier.nextSessionToken()
        carrier.attach(self, reserving: 2)
        if carrier.phase == .ready { openStreams(on: carrier) }
    }

    private func openStreams(on carrier: HTTP2ClientConnection) {
        guard !finished, errorStream == nil else { return }
        for type in ["error", "data"] {
            var headers = [HTTP2Header(":method", "POST"), HTTP2Header(":path", options.path),
                           HTTP2Header(":scheme", secure ? "https" : "http"), HTTP2Header(":authority", options.authority),
                           HTTP2Header("streamtype", type), HTTP2Header("port", String(port)),
                           HTTP2Header("requestid", requestID)]
            for (name, value) in options.headers { headers.append(HTTP2Header(name.lowercased(), value)) }
            do {
                let id = try carrier.submitRequest(headers, hasBody: type == "data", for: self)
                if type == "error" { errorStream = id } else { dataStream = id }
            } catch {
                return fail(.internalError("cannot open the \(type) stream for port \(port): \(error)"))
            }
        }
        carrier.flush()
    }

    // MARK: HTTP2StreamSet

    func carrierReady(_ carrier: HTTP2ClientConnection, upgradedStream: Int32?) {
        openStreams(on: carrier)
    }

    func carrier(_ carrier: HTTP2ClientConnection, headers: [HTTP2Header], stream: Int32, isTrailer: Bool) {
        guard !finished, !isTrailer, stream == errorStream || stream == dataStream, answered.insert(stream).inserted else { return }
        let status = Int(headers.first(":status") ?? "") ?? 0
        guard status == 200 else {
            if refusal == nil { refusal = (status, []) }
            return
        }
        if stream == dataStream {
            isReady = true
            var input = queued.take()
            input.replay { receive($0) }
        }
    }

    func carrier(_ carrier: HTTP2ClientConnection, data bytes: UnsafeRawBufferPointer, stream: Int32) {
        guard let h2 = carrier.h2 else { return }
        if var pending = refusal {
            if pending.body.count < UpgradeAnswer.maxBody { pending.body.append(contentsOf: bytes) }
            refusal = pending
            return h2.consume(stream: stream, bytes: bytes.count)
        }
        if stream == dataStream, !finished {
            delegate?.endpoint(self, emitted: .data(.stdout, bytes))
            if reading { h2.consume(stream: stream, bytes: bytes.count) } else { owedCredit += bytes.count }
            return
        }
        if stream == errorStream { state.appendError(bytes) }
        h2.consume(stream: stream, bytes: bytes.count)
    }

    func carrier(_ carrier: HTTP2ClientConnection, endStream stream: Int32) {
        guard !finished else { return }
        if let refusal { return fail(ExecStatus.refusal(code: refusal.status, body: refusal.body)) }
        if stream == dataStream, !state.dataEnded {
            state.dataEnded = true
            delegate?.endpoint(self, emitted: .halfClose(.stdout))
        } else if stream == errorStream {
            state.errorEnded = true
        }
        if state.isComplete { complete(state.status) }
    }

    func carrier(_ carrier: HTTP2ClientConnection, closedStream stream: Int32, errorCode: UInt32) {
        guard !finished, errorCode != 0 else { return }
        if let refusal { return fail(ExecStatus.refusal(code: refusal.status, body: refusal.body)) }
        if stream == errorStream, !state.errorEnded {
            return fail(.internalError("the server reset the error stream for port \(port) (code \(errorCode))"))
        }
        if stream == dataStream, !state.dataEnded {
            // RST_STREAM on the data stream aborts the forwarded connection; the message, if
            // any, is on the error stream.
            state.dataEnded = true
            if state.errorEnded {
                return complete(state.errorText.isEmpty
                                ? PortForwardTunnelState.failure("the server aborted the connection to port \(port)")
                                : state.status)
            }
            delegate?.endpoint(self, emitted: .halfClose(.stdout))
        }
    }

    func carrierDrained(_ carrier: HTTP2ClientConnection) {
        delegate?.endpointDidDrain(self)
    }

    func carrierLost(_ carrier: HTTP2ClientConnection, detail: String, refusal: ExecStatus?) {
        guard !finished else { return }
        self.carrier = nil
        if let refusal { return fail(refusal) }
        if let pending = self.refusal { return fail(ExecStatus.refusal(code: pending.status, body: pending.body)) }
        finished = true
        lastFailure = .internalError(detail)
        if answered.isEmpty {
            delegate?.endpoint(self, emitted: .exit(.internalError(detail)))
        } else {
            delegate?.endpoint(self, didEnd: .backendGone)
        }
    }

    // MARK: Ending

    private func complete(_ status: ExecStatus) {
        finished = true
        leave(errorCode: HTTP2ErrorCode.noError)
        delegate?.endpoint(self, emitted: .exit(status))
    }

    /// Refused or broken before it ran: the status is the tunnel's end.
    func fail(_ status: ExecStatus) {
        guard !finished else { return }
        finished = true
        lastFailure = status
        leave(errorCode: HTTP2ErrorCode.cancel)
        delegate?.endpoint(self, emitted: .exit(status))
    }

    private func leave(errorCode: UInt32) {
        guard let carrier else { return }
        self.carrier = nil
        carrier.detach(self, resetting: [errorStream, dataStream].compactMap { $0 }, errorCode: errorCode)
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        guard isReady, let carrier, let h2 = carrier.h2, let id = dataStream else { return queued.hold(event) }
        switch event {
        case .data(.stdin, let bytes):
            guard !stdinEnded, !bytes.isEmpty else { return }
            _ = try? h2.sendData(bytes, stream: id)
        case .halfClose(.stdin):
            guard !stdinEnded else { return }
            stdinEnded = true
            try? h2.endStream(id)
        default:
            return
        }
        carrier.flush()
    }

    public var pendingBytes: Int {
        let stream = dataStream.map { carrier?.h2?.pendingBytes(stream: $0) ?? 0 } ?? 0
        return stream + (carrier?.outputCount ?? 0) + queued.stdin.count
    }

    public func setReading(_ on: Bool) {
        reading = on
        guard on, owedCredit > 0, let carrier, let h2 = carrier.h2, let id = dataStream else { return }
        h2.consume(stream: id, bytes: owedCredit)
        owedCredit = 0
        carrier.flush()
    }

    /// Ends the forwarded connection: RST_STREAM(CANCEL) unless it ran to its end.
    public func terminate(_ reason: EndReason) {
        guard !finished else { return }
        finished = true
        leave(errorCode: reason == .completed ? HTTP2ErrorCode.noError : HTTP2ErrorCode.cancel)
    }
}
