import Reactor

/// Where every accepted connection starts: TLS with ALPN h2 and cleartext connections that open
/// with the HTTP/2 preface go to the HTTP/2 frontend; everything else is HTTP/1.1, where an exec
/// request may upgrade to SPDY/3.1, h2c or WebSocket.
enum FrontDoor {
    static func accept(_ connection: Connection, services: ConnectionServices) {
        connection.handler = HTTP1ServerHandler(connection: connection, services: services)
    }

    /// The HTTP/2 connection preface (RFC 9113 §3.4).
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// A complete first line that names no HTTP version is neither an HTTP/1.x request nor the
    /// HTTP/2 preface: the HTTP/2 side answers it as an invalid preface, GOAWAY(PROTOCOL_ERROR)
    /// then close (RFC 9113 §3.4). A line naming any HTTP/ version stays HTTP/1.x (400, 505).
    static func isNeitherHTTP1NorHTTP2(_ start: [UInt8]) -> Bool {
        guard let end = start.firstIndex(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }),
              end > 0 else { return false }
        let version = start[..<end].split(separator: UInt8(ascii: " ")).last ?? []
        return !version.starts(with: Array("HTTP/".utf8))
    }
}
