import CLibevent
import COpenSSL
import Glibc

/// Closing: at once, or gracefully (flush, half-close, linger until the peer closes).
extension Connection {
    /// Flushes the output, then half-closes and waits (at most `linger` seconds) for the peer to
    /// close. Closing at once could make the kernel reset a socket whose peer still has unread
    /// data, and the peer would lose the last output (kubernetes/kubernetes#124571).
    public func closeGracefully(linger: Double = 5) {
        loop.preconditionInEventLoop()
        guard phase == .open else { return }
        phase = .flushing
        lingerTimer = LoopTimer(loop: loop, after: linger) { [weak self] in self?.finish(.timeout) }
        if outputCount == 0 { startLinger() }
    }

    /// Closes now; unsent output is lost.
    public func close() {
        loop.preconditionInEventLoop()
        finish(.local)
    }

    func startLinger() {
        guard let bev, phase == .flushing else { return }
        phase = .lingering
        if let ssl {
            SSL_shutdown(ssl)
            _ = bufferevent_flush(bev, Int16(EV_WRITE), BEV_FLUSH)
        } else {
            shutdown(fd, Int32(SHUT_WR))
        }
        // Keep reading, and discard, until the peer closes.
        readPaused = false
        if !consuming { drainInput(inputCount) }
        if let socketReader { socketReader.enable() } else { bufferevent_enable(bev, Int16(EV_READ)) }
    }
}
