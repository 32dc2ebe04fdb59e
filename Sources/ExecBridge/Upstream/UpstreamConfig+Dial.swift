import Glibc
import Reactor

extension UpstreamConfig {
    /// A session's own connection to the upstream (SPDY, WebSocket over HTTP/1.1, an h2c upgrade,
    /// a tunnel): TLS as the scheme says with the name checked, socket buffers bounded.
    enum SessionDial {
        case connecting(Connection)
        /// No socket could even be made (an immediate refusal comes through the handler's close).
        case failed(String)
    }

    func dialSession(on loop: EventLoop, handler: ConnectionHandler) -> SessionDial {
        let tls = url.scheme.usesTLS ? sessionTLS : nil
        guard let connection = Connection.connect(loop: loop, to: address, tls: tls,
                                                  serverName: tls == nil ? nil : serverName, handler: handler) else {
            return .failed(DialError.socket(errno, upstream: self))
        }
        Socket.boundBuffers(connection.fd)
        return .connecting(connection)
    }
}
