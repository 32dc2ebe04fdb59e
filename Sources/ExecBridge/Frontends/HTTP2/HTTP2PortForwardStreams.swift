import ExecModel
import HTTP2
import Logging
import Reactor

/// Port-forward on HTTP/2 (docs/protocol.md, "Port-forward on HTTP/2"): per forwarded connection
/// two POST streams on a port-forward path, `streamtype: error` then `streamtype: data`, both with
/// `port` and a client-chosen `requestid`. The error stream is the tunnel's admission (a refusal is
/// an ordinary answer with a Status body; accepted, `:status 200`), the data stream starts it.
/// Any number of tunnels share the connection; each is a session of its own.
final class HTTP2PortForwardStreams {
    private weak var owner: HTTP2ServerConnection?
    /// Error streams answered, waiting for their data stream, by request ID.
    private var pending: [String: Pending] = [:]
    /// Each tunnel under both its streams.
    private var tunnels: [Int32: HTTP2Tunnel] = [:]

    private struct Pending {
        var errorStream: Int32
        var port: UInt16
        var starter: TunnelStarter
        var admitted: TunnelStarter.Admitted
        var timer: LoopTimer
    }

    init(owner: HTTP2ServerConnection) {
        self.owner = owner
    }

    /// A tunnel or a pair still forming: the connection stays for it.
    var hasLive: Bool { !tunnels.isEmpty || !pending.isEmpty }

    var outputPending: Bool { tunnels.values.contains { $0.outputPending } }

    // MARK: Opening

    func open(_ stream: Int32, request: ExecRequest, context: RequestContext, headers: [HTTP2Header], method: String,
              endStream: Bool) {
        guard let owner else { return }
        func refuse(_ error: RequestError) {
            owner.services.pipeline.refusedBeforeAdmission(request, context: context, error: error)
            owner.respond(stream, error: error)
        }
        guard method == "POST" else {
            return refuse(RequestError(code: 405, reason: "MethodNotAllowed", message: "port-forward streams are POST requests",
                                       headers: [.init("Allow", "POST")]))
        }
        let type = headers.first("streamtype")?.lowercased()
        guard type == "error" || type == "data" else {
            return refuse(.badRequest("a port-forward stream needs streamtype: error or data"))
        }
        guard let requestID = headers.first("requestid"), PortForwardPorts.isValidRequestID(requestID) else {
            return refuse(.badRequest("a port-forward stream needs a requestid of 1 to 32 letters, digits, '.', '_' or '-'"))
        }
        let port: UInt16
        switch PortForwardPorts.port(Substring(headers.first("port") ?? "")) {
        case .failure(let error): return refuse(error)
        case .success(let value): port = value
        }
        if type == "error" {
            guard pending[requestID] == nil, !tunnels.values.contains(where: { $0.requestID == requestID }) else {
                return refuse(.badRequest("requestid \(requestID) is in use on this connection"))
            }
            var request = request
            request.generation = .http2
            let starter = TunnelStarter(services: owner.services, request: request, context: context)
            switch starter.admit(port: port) {
            case .failure(let error):
                owner.respond(stream, error: error)
            case .success(let admitted):
                guard answer(stream) else { return starter.abandon(admitted, RequestError(code: 500, reason: "InternalError", message: "cannot answer the error stream")) }
                let timer = owner.services.launcher.creationTimer { [weak self] in self?.pairTimedOut(requestID) }
                pending[requestID] = Pending(errorStream: stream, port: port, starter: starter, admitted: admitted, timer: timer)
            }
        } else {
            guard let pair = pending.removeValue(forKey: requestID) else {
                return refuse(.badRequest("no error stream for requestid \(requestID): open it first"))
            }
            pair.timer.cancel()
            guard pair.port == port else {
                pair.starter.abandon(pair.admitted, .badRequest("the data stream's port differs from its error stream's"))
                endWithText(pair.errorStream, "the data stream's port \(port) differs from the error stream's \(pair.port)")
                return refuse(.badRequest("the data stream's port \(port) differs from the error stream's \(pair.port)"))
            }
            guard answer(stream) else {
                pair.starter.abandon(pair.admitted, RequestError(code: 500, reason: "InternalError", message: "cannot answer the data stream"))
                return endWithText(pair.errorStream, "cannot answer the data stream")
            }
            let tunnel = HTTP2Tunnel(owner: self, h2: owner.h2, requestID: requestID, errorStream: pair.errorStream,
                                     dataStream: stream)
            tunnels[stream] = tunnel
            tunnels[pair.errorStream] = tunnel
            pair.starter.launch(pair.admitted, endpoint: tunnel) { tunnel.bridge = $0 }
            if endStream { tunnel.peerEnded(stream) }
        }
        owner.flush()
    }

    /// `:status 200`: the stream is accepted, its body follows.
    private func answer(_ stream: Int32) -> Bool {
        guard let owner else { return false }
        do {
            try owner.h2.submitResponse(stream: stream, headers: [HTTP2Header(":status", "200")], hasBody: true)
            return true
        } catch {
            owner.h2.resetStream(stream, errorCode: HTTP2ErrorCode.internalError)
            return false
        }
    }

    /// Ends an answered error stream with `text` as its body.
    private func endWithText(_ stream: Int32, _ text: String) {
        guard let h2 = owner?.h2 else { return }
        _ = try? h2.sendData(Array(text.utf8), stream: stream)
        try? h2.endStream(stream)
        if h2.peerMaySend(stream: stream) { h2.resetAfterResponse(stream: stream) }
        owner?.flush()
    }

    private func pairTimedOut(_ requestID: String) {
        guard let pair = pending.removeValue(forKey: requestID) else { return }
        pair.starter.abandon(pair.admitted, RequestError(code: 408, reason: "Timeout", message: SessionLauncher.creationTimeoutMessage))
        endWithText(pair.errorStream, "timed out waiting for the data stream of request \(requestID)")
    }

    // MARK: From the connection

    /// DATA on a port-forward stream; false when the stream is none of these.
    func received(_ bytes: UnsafeRawBufferPointer, stream: Int32) -> Bool {
        if let tunnel = tunnels[stream] {
            tunnel.received(bytes, stream: stream)
            return true
        }
        return false
    }

    func peerEnded(_ stream: Int32) {
        tunnels[stream]?.peerEnded(stream)
    }

    func closed(_ stream: Int32, errorCode: UInt32) {
        if let tunnel = tunnels.removeValue(forKey: stream) {
            tunnel.streamClosed(stream, errorCode: errorCode)
        } else if let (requestID, pair) = pending.first(where: { $0.value.errorStream == stream }) {
            // The client gave up on the pair before its data stream.
            pair.timer.cancel()
            pending[requestID] = nil
            pair.starter.abandon(pair.admitted, RequestError(code: 499, reason: "ClientClosedRequest",
                                                             message: "the error stream closed before the data stream came"))
        }
        owner?.afterPortForwardChange()
    }

    func canSendMore(_ stream: Int32) {
        tunnels[stream]?.drained()
    }

    func drained() {
        for (stream, tunnel) in tunnels where stream == tunnel.dataStream { tunnel.drained() }
    }

    func connectionClosed() {
        for pair in pending.values { pair.timer.cancel() }
        pending.removeAll()
        let open = tunnels
        tunnels.removeAll()
        for (stream, tunnel) in open where stream == tunnel.dataStream { tunnel.connectionLost() }
    }

    // MARK: From tunnels

    func flush() { owner?.flush() }

    /// A tunnel ended: its streams are forgotten once they close.
    func tunnelEnded(_ tunnel: HTTP2Tunnel) {
        owner?.afterPortForwardChange()
    }

    var logger: Logger? { owner?.logger }
}
