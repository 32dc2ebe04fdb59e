import ExecModel
import SPDY

/// One forwarded connection on a `SPDYPortForwardClient`: its error stream (opened first, our
/// side closed at once: nothing is written there) and its data stream, opened after the error
/// stream's reply, as client-go's `handleConnection` does. Bytes toward the pod are
/// `.data(.stdin)` (FIN on `.halfClose(.stdin)`), bytes from it `.data(.stdout)`; the tunnel ends
/// with `.exit` once the server ended both streams: success, or the error stream's text unchanged.
public final class SPDYPortForwardTunnel: SessionEndpoint {
    public let port: UInt16
    public let requestID: String
    /// The data stream is open both ways: input goes out at once.
    public private(set) var isReady = false
    /// Why the tunnel failed without an end from the server.
    public private(set) var lastFailure: ExecStatus?

    private unowned let client: SPDYPortForwardClient
    private weak var delegate: SessionEndpointDelegate?
    private var errorStream: UInt32?
    private var dataStream: UInt32?
    private var state = PortForwardTunnelState()
    private var queued = PendingInput(limit: .max)
    /// Bytes the peer's SPDY/3.1 window could not take yet.
    private var held: [UInt8] = []
    private var finAfterHeld = false
    private var stdinEnded = false
    private var finished = false

    init(client: SPDYPortForwardClient, port: UInt16, requestID: String, delegate: SessionEndpointDelegate) {
        self.client = client
        self.port = port
        self.requestID = requestID
        self.delegate = delegate
    }

    private func headers(_ type: String) -> SPDYHeaders {
        ["streamtype": type, "port": String(port), "requestid": requestID]
    }

    // MARK: From the client

    func openStreams() {
        guard !finished, let session = client.session else { return }
        guard let id = try? session.openStream(headers: headers("error")) else {
            return lost(.internalError("cannot open the error stream for port \(port)"))
        }
        errorStream = id
        client.register(self, stream: id)
    }

    func replied(_ id: UInt32, fin: Bool) {
        guard !finished, let session = client.session else { return }
        if id == errorStream, dataStream == nil {
            // Nothing is written on the error stream: our side ends now (client-go closes it).
            try? session.finish(id)
            guard let data = try? session.openStream(headers: headers("data")) else {
                return lost(.internalError("cannot open the data stream for port \(port)"))
            }
            dataStream = data
            client.register(self, stream: data)
        } else if id == dataStream {
            isReady = true
            var input = queued.take()
            input.replay { receive($0) }
        }
        if fin { ended(id) }
    }

    func received(_ bytes: UnsafeRawBufferPointer, on id: UInt32) {
        guard !finished else { return }
        if id == dataStream {
            delegate?.endpoint(self, emitted: .data(.stdout, bytes))
        } else if id == errorStream {
            state.appendError(bytes)
        }
    }

    func ended(_ id: UInt32) {
        guard !finished else { return }
        if id == dataStream, !state.dataEnded {
            state.dataEnded = true
            delegate?.endpoint(self, emitted: .halfClose(.stdout))
        } else if id == errorStream {
            state.errorEnded = true
            // The server may end the error stream with its message before it ever replies to the data stream.
            if dataStream == nil || !isReady, !state.errorText.isEmpty { state.dataEnded = true }
        }
        if state.isComplete { complete(state.status) }
    }

    func reset(_ id: UInt32, status: SPDYRstStatus) {
        guard !finished else { return }
        if !isReady && state.errorText.isEmpty {
            return lost(.internalError("the server reset the \(id == errorStream ? "error" : "data") stream for port \(port) (\(status))"))
        }
        // Classic servers reset after writing the error: the end of that stream.
        if id == dataStream { state.dataEnded = true }
        if id == errorStream { state.errorEnded = true }
        ended(id)
    }

    func windowOpened() {
        guard !held.isEmpty, let id = dataStream, let session = client.session else { return }
        let sent = held.withUnsafeBytes { (try? session.sendData($0, on: id)) ?? $0.count }
        held.removeFirst(sent)
        if held.isEmpty && finAfterHeld {
            finAfterHeld = false
            try? session.finish(id)
        }
        delegate?.endpointDidDrain(self)
    }

    func drained() {
        delegate?.endpointDidDrain(self)
    }

    /// The connection is gone (or never came up): before the tunnel ran, the cause is its status;
    /// after, the tunnel was cut.
    func lost(_ status: ExecStatus) {
        guard !finished else { return }
        finished = true
        client.forget(self)
        if isReady || dataStream != nil {
            lastFailure = status
            delegate?.endpoint(self, didEnd: .backendGone)
        } else {
            delegate?.endpoint(self, emitted: .exit(status))
        }
    }

    private func complete(_ status: ExecStatus) {
        finished = true
        closeStreams()
        client.forget(self)
        delegate?.endpoint(self, emitted: .exit(status))
    }

    private func closeStreams() {
        guard let session = client.session else { return }
        for id in [errorStream, dataStream].compactMap({ $0 }) where session.streamState(id) != nil {
            session.reset(id, status: .cancel)
        }
    }

    // MARK: SessionEndpoint

    public func receive(_ event: SessionEvent) {
        guard !finished else { return }
        guard isReady, let id = dataStream, let session = client.session else {
            return queued.hold(event)
        }
        switch event {
        case .data(.stdin, let bytes):
            guard !stdinEnded, !bytes.isEmpty else { return }
            if !held.isEmpty { return held.append(contentsOf: bytes) }
            let sent = (try? session.sendData(bytes, on: id)) ?? bytes.count
            if sent < bytes.count { held.append(contentsOf: bytes[sent...]) }
        case .halfClose(.stdin):
            guard !stdinEnded else { return }
            stdinEnded = true
            if held.isEmpty { try? session.finish(id) } else { finAfterHeld = true }
        default:
            break
        }
    }

    public var pendingBytes: Int { client.outputCount + queued.stdin.count + held.count }

    public func setReading(_ on: Bool) {
        client.setReading(on, for: self)
    }

    public func terminate(_ reason: EndReason) {
        guard !finished else { return }
        finished = true
        closeStreams()
        client.forget(self)
    }
}
