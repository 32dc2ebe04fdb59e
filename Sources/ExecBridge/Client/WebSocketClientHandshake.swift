import ExecModel
import HTTP1
import Reactor
import WebSocket

/// The client half of the RFC 6455 opening handshake on an HTTP/1.1 connection of its own, as the
/// exec client, the v4 port-forward client and kubectl's SPDY-over-WebSocket tunnel all open it:
/// one GET upgrade with a fresh key, then the answer read incrementally and a 101 verified against
/// that key and the offered subprotocols before a single frame is parsed.
struct WebSocketClientHandshake {
    enum Step {
        case needMore
        /// The handshake holds; `chosen` is the subprotocol the server echoed (nil: none). The
        /// bytes after the head, still in the connection's input, are WebSocket frames.
        case accepted(HTTPResponseHead, chosen: String?)
        case refused(HTTPResponseHead, ExecStatus)
        /// Not an HTTP answer.
        case malformed(String)
        /// A 101 that fails the RFC 6455 §4.2.2 checks (accept key, upgrade headers, subprotocol).
        case badHandshake(HTTPResponseHead, WebSocketResponseError)
    }

    let offered: [String]
    private let key = WebSocketHandshake.makeClientKey()
    private var answer = UpgradeAnswer()

    init(offering subprotocols: [String]) {
        offered = subprotocols
    }

    /// The upgrade request: Host, the handshake's headers, then the caller's (credentials,
    /// impersonation) in their order.
    func request(_ options: ExecClientOptions) -> [UInt8] {
        var headers = HTTPHeaders()
        headers.add("Host", options.authority)
        for line in WebSocketHandshake.requestHeaders(key: key, protocols: offered) { headers.add(line.name, line.value) }
        for (name, value) in options.headers { headers.add(name, value) }
        return HTTPRequestHead(method: "GET", target: options.path, version: .http11, headers: headers).serialized()
    }

    /// Consumes what the connection has buffered, up to the end of the answer's head (or of a
    /// refusal's body).
    mutating func read(_ connection: Connection) -> Step {
        switch answer.read(connection) {
        case .needMore:
            return .needMore
        case .malformed(let message):
            return .malformed(message)
        case .refused(let head, let status):
            return .refused(head, status)
        case .switched(let head):
            do throws(WebSocketResponseError) {
                let chosen = try WebSocketHandshake.verifyServerResponse(
                    status: head.status, headers: { head.headers.values($0) }, key: key, offeredProtocols: offered)
                return .accepted(head, chosen: chosen)
            } catch {
                return .badHandshake(head, error)
            }
        }
    }

    /// The refusal as it stands (the connection closed before its whole body came).
    var pendingRefusal: ExecStatus? { answer.pendingRefusal }
}
