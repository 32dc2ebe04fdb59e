import ExecModel
import SPDY

/// One forwarded connection of a SPDY port-forward session: its data stream carries the bytes both
/// ways (FIN is a half-close), its error stream the failure text at the end (FIN alone: success).
final class SPDYTunnel: SessionEndpoint {
    private weak var owner: SPDYPortForwardSession?
    let dataStream: UInt32
    let errorStream: UInt32
    var port: UInt16 = 0
    var bridge: Bridge?
    /// Output a flow-controlling client's window did not take yet (spdystream never limits us).
    private var held: [UInt8] = []
    private var finAfterHeld = false
    private var statusAfterHeld: ExecStatus?
    private var dataFinished = false
    private var done = false

    init(owner: SPDYPortForwardSession, dataStream: UInt32, errorStream: UInt32) {
        self.owner = owner
        self.dataStream = dataStream
        self.errorStream = errorStream
    }

    // MARK: From the client

    func clientSent(_ bytes: UnsafeRawBufferPointer) {
        bridge?.endpoint(self, emitted: .data(.stdin, bytes))
    }

    func clientFinished() {
        bridge?.endpoint(self, emitted: .halfClose(.stdin))
    }

    /// The client reset one of the streams: the forwarded connection is abandoned.
    func streamReset() {
        guard !done else { return }
        done = true
        held = []
        if let spdy = owner?.spdy {
            spdy.reset(dataStream, status: .cancel)
            spdy.reset(errorStream, status: .cancel)
        }
        endBridge()
        owner?.forget(self)
    }

    /// The connection closed under the tunnel.
    func connectionLost() {
        done = true
        held = []
        endBridge()
    }

    private func endBridge() {
        guard let bridge else { return }
        self.bridge = nil
        bridge.endpoint(self, didEnd: .clientGone)
    }

    func carrierDrained() {
        bridge?.endpointDidDrain(self)
    }

    /// Refused before a session started: the reason on the error stream, both streams finished.
    func refuse(_ status: ExecStatus) {
        finish(with: status)
    }

    // MARK: SessionEndpoint

    func receive(_ event: SessionEvent) {
        guard !done, let spdy = owner?.spdy else { return }
        switch event {
        case .data(_, let bytes):
            guard !dataFinished, !finAfterHeld else { return }
            if !held.isEmpty {
                held.append(contentsOf: bytes)
                return
            }
            do {
                let sent = try spdy.sendData(bytes, on: dataStream)
                if sent < bytes.count { held = Array(bytes[sent...]) }
            } catch {
                return sendFailed()
            }
        case .halfClose:
            if held.isEmpty { finishData() } else { finAfterHeld = true }
        case .resize:
            break
        case .exit(let status):
            if held.isEmpty { finish(with: status) } else { statusAfterHeld = status }
        }
    }

    func flushHeld() {
        guard !done, !held.isEmpty, let spdy = owner?.spdy else { return }
        do {
            let sent = try held.withUnsafeBytes { try spdy.sendData($0, on: dataStream) }
            held.removeFirst(sent)
        } catch {
            return sendFailed()
        }
        guard held.isEmpty else { return }
        if finAfterHeld { finishData() }
        if let status = statusAfterHeld {
            statusAfterHeld = nil
            finish(with: status)
        } else {
            bridge?.endpointDidDrain(self)
        }
    }

    private func finishData() {
        guard !dataFinished, let spdy = owner?.spdy else { return }
        dataFinished = true
        try? spdy.finish(dataStream)
    }

    /// The tunnel's end: kubelet writes the error text, then closes both streams.
    private func finish(with status: ExecStatus) {
        guard !done else { return }
        done = true
        if let spdy = owner?.spdy {
            if let text = status.portForwardErrorText, !text.isEmpty {
                _ = try? Array(text.utf8).withUnsafeBytes { try spdy.sendData($0, on: errorStream) }
            }
            try? spdy.finish(errorStream)
            if !dataFinished {
                dataFinished = true
                try? spdy.finish(dataStream)
            }
        }
        if bridge == nil { owner?.forget(self) }
    }

    /// The stream can no longer be written (reset, session failed): the bytes cannot reach the
    /// client, so the tunnel ends as the client's loss.
    private func sendFailed() {
        held = []
        streamReset()
    }

    var pendingBytes: Int { (owner?.carrier.pendingBytes ?? 0) + held.count }

    func setReading(_ on: Bool) {
        owner?.setReading(on, for: self)
    }

    func terminate(_ reason: EndReason) {
        bridge = nil
        switch reason {
        case .completed:
            // Output still waiting for window goes first; `finish` forgets the tunnel after it.
            if done { owner?.forget(self) }
        case .clientGone:
            done = true
            held = []
            owner?.forget(self)
        case .backendGone, .timeout, .shutdown:
            held = []
            finish(with: .internalError("session ended: \(reason.rawValue)"))
            owner?.forget(self)
        }
    }

    var stallsMeanAStuckPeer: Bool { true }
}
