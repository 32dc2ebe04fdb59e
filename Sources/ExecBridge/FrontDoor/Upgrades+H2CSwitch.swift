import HTTP1
import HTTP2
import Reactor

extension Upgrades {
    /// The 101 of an h2c upgrade, for exec and port-forward alike: only for exactly one
    /// HTTP2-Settings line holding whole 6-byte settings (RFC 9113 §3.2.1, RFC 7540 §3.2.1).
    /// Returns that line for the HTTP/2 connection that takes over, or nil once refused (400).
    static func switchToH2C(connection: Connection, head: HTTPRequestHead, handOff: (Outcome) -> Void) -> String? {
        let lines = head.headers.values("http2-settings")
        guard lines.count == 1, let settings = lines.first,
              let payload = HTTP2Session.decodeSettingsHeader(settings), payload.count % 6 == 0 else {
            handOff(.refused(.badRequest("invalid HTTP2-Settings header")))
            return nil
        }
        var headers = HTTPHeaders()
        headers.add("Connection", "Upgrade")
        headers.add("Upgrade", "h2c")
        connection.write(HTTPResponseHead(status: 101, headers: headers).serialized())
        handOff(.upgraded)
        return settings
    }
}
