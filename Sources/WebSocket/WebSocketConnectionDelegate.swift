/// Receives a `WebSocketConnection`'s output and events. Buffers are borrowed for the duration of
/// the call. Callbacks may call the connection's send/close methods, but not `receive`, and
/// `write` must not call back into the connection at all.
public protocol WebSocketConnectionDelegate: AnyObject {
    /// Bytes to put on the wire, in order. One frame may arrive in several writes.
    func webSocket(_ connection: WebSocketConnection, write bytes: UnsafeRawBufferPointer)
    /// A text or binary message begins; its payload follows in `didReceiveData` chunks.
    func webSocket(_ connection: WebSocketConnection, didReceiveMessageStart opcode: WebSocketOpcode)
    func webSocket(_ connection: WebSocketConnection, didReceiveData bytes: UnsafeRawBufferPointer)
    func webSocketDidReceiveMessageEnd(_ connection: WebSocketConnection)
    /// Already answered with a pong when `Configuration.autoPong` is on (the default).
    func webSocket(_ connection: WebSocketConnection, didReceivePing payload: UnsafeRawBufferPointer)
    func webSocket(_ connection: WebSocketConnection, didReceivePong payload: UnsafeRawBufferPointer)
    /// The peer closed (code nil: its close frame had none). The closing handshake is complete:
    /// the answer (if one was due) has been written; the transport may be closed now.
    func webSocket(_ connection: WebSocketConnection, didReceiveClose code: WebSocketCloseCode?, reason: String)
    /// The peer broke the protocol; a close frame with `code` has been written (unless one had
    /// already been sent) and the connection is closed.
    func webSocket(_ connection: WebSocketConnection, didFail code: WebSocketCloseCode, reason: String)
}

extension WebSocketConnectionDelegate {
    public func webSocket(_ connection: WebSocketConnection, didReceivePing payload: UnsafeRawBufferPointer) {}
    public func webSocket(_ connection: WebSocketConnection, didReceivePong payload: UnsafeRawBufferPointer) {}
}
