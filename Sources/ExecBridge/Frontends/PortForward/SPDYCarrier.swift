import Reactor

/// The byte pipe under a SPDY port-forward connection: the upgraded socket itself
/// (`SPDYSocketCarrier`), or the binary messages of kubectl's WebSocket tunnel. The session speaks
/// SPDY frames through it and hears back through `SPDYPortForwardSession.carrier…` calls.
protocol SPDYCarrier: AnyObject {
    var loop: EventLoop { get }
    /// Bytes to send, in order; taken before the call returns.
    func write(_ bytes: UnsafeRawBufferPointer)
    /// Bytes written but not yet taken by the kernel.
    var pendingBytes: Int { get }
    /// Stop (false) or resume (true) delivering received bytes.
    func setReading(_ on: Bool)
    /// Ends the pipe once everything written went out, waiting (at most `linger` s) for the peer.
    func finish(linger: Double)
    /// Ends the pipe now (never in the middle of a parse of its input).
    func abort()
}

/// A SPDY port-forward session on an upgraded HTTP/1.1 connection.
final class SPDYSocketCarrier: ConnectionHandler, SPDYCarrier {
    let connection: Connection
    /// Strong until the connection closes (the session holds this carrier too).
    var session: SPDYPortForwardSession?
    private let safeClose = ParseSafeClose()
    private var reading = true

    init(connection: Connection) {
        self.connection = connection
    }

    var loop: EventLoop { connection.loop }

    func connectionDidRead(_ connection: Connection) {
        safeClose.parse(connection) {
            connection.consumeInput { chunk in
                guard reading, !safeClose.isPending, let session else { return safeClose.isPending ? chunk.count : 0 }
                session.carrierReceived(chunk)
                return chunk.count
            }
        }
    }

    func connectionDidDrain(_ connection: Connection) {
        session?.carrierDrained()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        let session = self.session
        self.session = nil
        session?.carrierClosed()
    }

    func write(_ bytes: UnsafeRawBufferPointer) { connection.write(bytes) }

    var pendingBytes: Int { connection.outputCount }

    func setReading(_ on: Bool) {
        guard on != reading else { return }
        reading = on
        if on { connection.resumeReading() } else { connection.pauseReading() }
    }

    func finish(linger: Double) { connection.closeGracefully(linger: linger) }

    func abort() { safeClose.close(connection) }
}

extension SPDYSocketCarrier: Drainable {
    func drain() { session?.drain() }
}
