/// What a connection tells whoever currently speaks on it. The handler can change during the
/// connection's life (the front door hands over to a frontend after an upgrade).
public protocol ConnectionHandler: AnyObject {
    /// Input arrived; consume it with `Connection.consumeInput`.
    func connectionDidRead(_ connection: Connection)
    /// The output fell to the low-water mark (0 unless set): a paused producer may go on.
    func connectionDidDrain(_ connection: Connection)
    /// The peer closed, or an error occurred. Called once; the connection is already closed.
    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason)
    /// An outgoing connection (or a TLS handshake) completed.
    func connectionDidConnect(_ connection: Connection)
}

extension ConnectionHandler {
    public func connectionDidDrain(_ connection: Connection) {}
    public func connectionDidConnect(_ connection: Connection) {}
}
