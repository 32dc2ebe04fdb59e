import ExecModel
import Glibc
import Reactor

/// One accepted local connection and its tunnel. The socket is read and written directly (not a
/// `Connection`, which treats EOF as the end of both directions): the local client's EOF becomes
/// the tunnel's `.halfClose(.stdin)` while the pod's answer still comes back, and the pod's end
/// shuts our write side down. Each side is paused while the other holds more than `budget`.
final class PortForwardLocalConnection: SessionEndpointDelegate {
    static let budget = 256 * 1024

    let pair: PortForwardCLIOptions.PortPair
    private let fd: Int32
    private let loop: EventLoop
    private var tunnel: SessionEndpoint?
    private var readEvent: FileEvent?
    private var writeEvent: FileEvent?
    private var output: [UInt8] = []
    private var outputStart = 0
    private var readPaused = false
    private var inputEnded = false
    private var shutdownAfterOutput = false
    private var tunnelEnded = false
    private var closed = false
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Told once when the socket is closed.
    var onClose: ((PortForwardLocalConnection) -> Void)?
    /// The tunnel's failure text (kubectl's line is printed by the owner).
    var onError: ((PortForwardLocalConnection, String) -> Void)?

    init(fd: Int32, loop: EventLoop, pair: PortForwardCLIOptions.PortPair) {
        self.fd = fd
        self.loop = loop
        self.pair = pair
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    func start(_ tunnel: SessionEndpoint) {
        guard !closed else { return tunnel.terminate(.clientGone) }
        self.tunnel = tunnel
        readEvent = FileEvent(loop: loop, fd: fd, kind: .read) { [unowned self] in self.readLocal() }
        writeEvent = FileEvent(loop: loop, fd: fd, kind: .write) { [unowned self] in self.flush() }
        if !readPaused { readEvent?.enable() }
    }

    /// The CLI stops: the tunnel is cut and the socket closed.
    func abort() {
        tunnel?.terminate(.clientGone)
        close()
    }

    // MARK: Local side

    private func readLocal() {
        guard !closed, !inputEnded, let tunnel else { return }
        if tunnel.pendingBytes > Self.budget { return pauseReading(true) }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            buffer.withUnsafeBytes { tunnel.receive(.data(.stdin, UnsafeRawBufferPointer(rebasing: $0[0..<n]))) }
        } else if n == 0 {
            inputEnded = true
            readEvent?.disable()
            tunnel.receive(.halfClose(.stdin))
            closeIfDone()
        } else if errno != EAGAIN && errno != EINTR {
            // Reset by the local client: the forwarded connection is abandoned.
            tunnel.terminate(.clientGone)
            close()
        }
    }

    private func pauseReading(_ paused: Bool) {
        guard paused != readPaused else { return }
        readPaused = paused
        if paused { readEvent?.disable() } else if !inputEnded { readEvent?.enable() }
    }

    private var pendingOutput: Int { output.count - outputStart }

    private func write(_ bytes: UnsafeRawBufferPointer) {
        guard !closed else { return }
        if pendingOutput == 0 {
            let n = Glibc.write(fd, bytes.baseAddress, bytes.count)
            if n == bytes.count { return }
            if n < 0 && errno != EAGAIN && errno != EINTR { return writeFailed() }
            output.append(contentsOf: bytes[max(0, n)...])
        } else {
            output.append(contentsOf: bytes)
        }
        writeEvent?.enable()
        if pendingOutput > Self.budget { tunnel?.setReading(false) }
    }

    private func flush() {
        guard !closed else { return }
        while pendingOutput > 0 {
            let n = output.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + outputStart, pendingOutput) }
            if n > 0 {
                outputStart += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN {
                return
            } else {
                return writeFailed()
            }
        }
        output.removeAll(keepingCapacity: true)
        outputStart = 0
        writeEvent?.disable()
        tunnel?.setReading(true)
        if shutdownAfterOutput { shutdown(fd, Int32(SHUT_WR)) }
        closeIfDone()
    }

    private func writeFailed() {
        tunnel?.terminate(.clientGone)
        close()
    }

    private func closeIfDone() {
        guard tunnelEnded, pendingOutput == 0 else { return }
        close()
    }

    private func close() {
        guard !closed else { return }
        closed = true
        readEvent?.invalidate()
        writeEvent?.invalidate()
        Glibc.close(fd)
        let onClose = self.onClose
        self.onClose = nil
        onClose?(self)
    }

    // MARK: SessionEndpointDelegate (the tunnel)

    func endpoint(_ endpoint: SessionEndpoint, emitted event: SessionEvent) {
        switch event {
        case .data(.stdout, let bytes):
            write(bytes)
        case .halfClose(.stdout):
            if pendingOutput == 0 { shutdown(fd, Int32(SHUT_WR)) } else { shutdownAfterOutput = true }
        case .exit(let status):
            tunnelEnded = true
            if status.exitCode == nil { onError?(self, ExecCLISession.describe(status)) }
            closeIfDone()
        default:
            break
        }
    }

    func endpointDidDrain(_ endpoint: SessionEndpoint) {
        if readPaused, endpoint.pendingBytes <= Self.budget / 4 { pauseReading(false) }
    }

    func endpoint(_ endpoint: SessionEndpoint, didEnd reason: EndReason) {
        tunnelEnded = true
        let failure = (endpoint as? SPDYPortForwardTunnel)?.lastFailure ?? (endpoint as? HTTP2PortForwardTunnel)?.lastFailure
            ?? (endpoint as? WebSocketPortForwardClient)?.lastFailure
        onError?(self, failure.map(ExecCLISession.describe) ?? "lost connection to the server (\(reason.rawValue))")
        close()
    }
}
