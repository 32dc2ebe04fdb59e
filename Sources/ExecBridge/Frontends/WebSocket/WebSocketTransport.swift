import Reactor

/// The byte pipe under a WebSocket exec session: an upgraded HTTP/1.1 socket
/// (`WebSocketSocketTransport`) or an RFC 8441 extended CONNECT stream on an HTTP/2 connection
/// (`HTTP2WebSocketStream`). The frontend speaks WebSocket frames through it and hears back through
/// `WebSocketExecFrontend.transportReceived / transportDrained / transportClosed`.
protocol WebSocketTransport: AnyObject {
    var loop: EventLoop { get }
    /// Bytes to send, in order; taken (copied or queued) before the call returns.
    func write(_ bytes: UnsafeRawBufferPointer)
    /// Hands what was written on (HTTP/2: lets nghttp2 frame it); a socket writes at once.
    func flush()
    /// Bytes written but not yet taken by the kernel (or held by HTTP/2 flow control).
    var pendingBytes: Int { get }
    /// Stop (false) or resume (true) delivering received bytes: pauses the socket, withholds
    /// HTTP/2 credit. Bytes already received may still arrive.
    func setReading(_ on: Bool)
    /// Ends the pipe in order once everything written went out: a socket half-closes and waits
    /// (at most `linger` seconds) for the peer to close; a stream ends with END_STREAM.
    func finish(linger: Double)
}

/// A WebSocket session on an upgraded HTTP/1.1 connection: the connection's handler from the 101 on.
final class WebSocketSocketTransport: ConnectionHandler, WebSocketTransport {
    let connection: Connection
    /// Strong until the connection closes (the frontend holds this transport too).
    var frontend: WebSocketExecFrontend?
    private var reading = true

    init(connection: Connection) {
        self.connection = connection
    }

    var loop: EventLoop { connection.loop }

    // MARK: ConnectionHandler

    func connectionDidRead(_ connection: Connection) {
        connection.consumeInput { chunk in
            // Paused mid-read: the rest stays buffered and the socket is not read meanwhile.
            guard reading, let frontend else { return 0 }
            frontend.transportReceived(chunk)
            return chunk.count
        }
    }

    func connectionDidDrain(_ connection: Connection) {
        frontend?.transportDrained()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        let frontend = self.frontend
        self.frontend = nil
        frontend?.transportClosed()
    }

    // MARK: WebSocketTransport

    func write(_ bytes: UnsafeRawBufferPointer) {
        connection.write(bytes)
    }

    func flush() {}

    var pendingBytes: Int { connection.outputCount }

    func setReading(_ on: Bool) {
        guard on != reading else { return }
        reading = on
        if on { connection.resumeReading() } else { connection.pauseReading() }
    }

    func finish(linger: Double) {
        connection.closeGracefully(linger: linger)
    }
}
