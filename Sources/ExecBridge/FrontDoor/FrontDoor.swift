import Reactor

/// Where every accepted connection starts: TLS with ALPN h2 and cleartext connections that open
/// with the HTTP/2 preface go to the HTTP/2 frontend; everything else is HTTP/1.1, where an exec
/// request may upgrade to SPDY/3.1, h2c or WebSocket.
enum FrontDoor {
    static func accept(_ connection: Connection, worker: Worker) {
        connection.handler = HTTP1ServerHandler(connection: connection, worker: worker)
    }

    /// The HTTP/2 connection preface (RFC 9113 §3.4).
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
}
