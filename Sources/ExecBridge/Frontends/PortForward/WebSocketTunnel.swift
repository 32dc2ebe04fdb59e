import ExecModel

/// One port of a WebSocket port-forward connection, one forwarded connection: bytes on its data
/// channel both ways, the failure text on its error channel.
final class WebSocketTunnel: SessionEndpoint {
    private weak var owner: WebSocketPortForwardFrontend?
    let index: Int
    let port: UInt16
    var bridge: Bridge?
    private(set) var isDone = false

    var dataChannel: UInt8 { UInt8(truncatingIfNeeded: index * 2) }
    var errorChannel: UInt8 { UInt8(truncatingIfNeeded: index * 2 + 1) }

    init(owner: WebSocketPortForwardFrontend, index: Int, port: UInt16) {
        self.owner = owner
        self.index = index
        self.port = port
    }

    func clientSent(_ bytes: UnsafeRawBufferPointer) {
        guard !isDone else { return }
        bridge?.endpoint(self, emitted: .data(.stdin, bytes))
    }

    /// The WebSocket is gone (closed, broken): the forwarded connection is abandoned.
    func clientLeft() {
        guard !isDone else { return }
        isDone = true
        if let bridge {
            self.bridge = nil
            bridge.endpoint(self, didEnd: .clientGone)
        }
    }

    func carrierDrained() {
        bridge?.endpointDidDrain(self)
    }

    func refuse(_ status: ExecStatus) {
        finish(with: status)
    }

    private func finish(with status: ExecStatus) {
        guard !isDone else { return }
        isDone = true
        if let text = status.portForwardErrorText, !text.isEmpty {
            Array(text.utf8).withUnsafeBytes { owner?.send(channel: errorChannel, $0) }
        }
        owner?.tunnelEnded(self)
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard !isDone else { return }
        switch event {
        case .data(_, let bytes):
            guard !bytes.isEmpty else { return }
            owner?.send(channel: dataChannel, bytes)
        case .halfClose, .resize:
            break // no per-channel end in this protocol: the tunnel's end follows at once
        case .exit(let status):
            finish(with: status)
        }
    }

    var pendingBytes: Int { owner?.pendingBytes ?? 0 }

    func setReading(_ on: Bool) {
        owner?.setReading(on, for: self)
    }

    func terminate(_ reason: EndReason) {
        bridge = nil
        switch reason {
        case .completed, .clientGone:
            if !isDone { isDone = true; owner?.tunnelEnded(self) }
        case .backendGone, .timeout, .shutdown:
            finish(with: .internalError("session ended: \(reason.rawValue)"))
        }
    }
}
