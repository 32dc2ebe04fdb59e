import HTTP2

extension HTTP2ServerConnection {
    /// RFC 8441 Extended CONNECT (`:protocol websocket`) carrying the WebSocket channel protocol.
    /// Returns true when the stream was taken. Not yet: plain CONNECT is refused with 501.
    func extendedConnect(_ stream: Int32, headers: [HTTP2Header]) -> Bool {
        false
    }
}
