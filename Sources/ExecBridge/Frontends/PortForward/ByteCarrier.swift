import Reactor

/// The byte pipe under a port-forward connection: the upgraded socket itself (`SocketCarrier`), or
/// the binary messages of kubectl's WebSocket tunnel (`WebSocketSPDYCarrier`). Whatever speaks on
/// it hears back as its `CarrierListener`.
protocol ByteCarrier: AnyObject {
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

/// What a carrier tells the protocol above it.
protocol CarrierListener: AnyObject {
    func carrierReceived(_ bytes: UnsafeRawBufferPointer)
    /// The output fell to the low-water mark.
    func carrierDrained()
    /// The pipe is gone; nothing more is delivered.
    func carrierClosed()
    /// The gateway drains: finish what runs, start nothing new.
    func drain()
}

/// An upgraded HTTP/1.1 connection carrying a port-forward protocol: the connection's handler from
/// the 101 on.
final class SocketCarrier: ConnectionHandler, ByteCarrier, Drainable {
    let connection: Connection
    /// Strong until the connection closes (the listener holds this carrier too).
    var listener: CarrierListener?
    private let safeClose = ParseSafeClose()
    private var reading = true

    init(connection: Connection) {
        self.connection = connection
    }

    var loop: EventLoop { connection.loop }

    func connectionDidRead(_ connection: Connection) {
        safeClose.parse(connection) {
            connection.consumeInput { chunk in
                if safeClose.isPending { return chunk.count }
                // Paused mid-read: the rest stays buffered and the socket is not read meanwhile.
                guard reading, let listener else { return 0 }
                listener.carrierReceived(chunk)
                return chunk.count
            }
        }
    }

    func connectionDidDrain(_ connection: Connection) {
        listener?.carrierDrained()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        let listener = self.listener
        self.listener = nil
        listener?.carrierClosed()
    }

    func drain() { listener?.drain() }

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
