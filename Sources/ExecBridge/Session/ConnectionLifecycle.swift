import Reactor

/// Where a connection's handler (a frontend or a client) is in its life, in order; it only moves
/// forward, and every callback checks it. A codec may still be parsing a buffer when its connection
/// starts to close: nothing it reports after that may start work or reach what was torn down.
enum ConnectionLifecycle: Equatable {
    /// Streams are served (or, for a client, the session runs).
    case open
    /// The peer said GOAWAY or the gateway drains: a running session finishes, nothing new starts.
    case draining
    /// The session ended or the peer broke the protocol: the last bytes go out, then the socket closes.
    case closing
    /// The socket is closed: no callback may touch a session or the socket.
    case closed
}

/// Closes a connection now, or, while a codec parses the connection's input, right after that parse:
/// the codec reads the connection's input buffer in place, and closing frees it.
final class ParseSafeClose {
    private var parsing = 0
    private var wanted = false

    /// Feeds the connection's input through `parse`; a close asked meanwhile happens after it.
    func parse(_ connection: Connection, _ body: () -> Void) {
        parsing += 1
        body()
        parsing -= 1
        if parsing == 0, wanted {
            wanted = false
            connection.close()
        }
    }

    /// True once a close was asked for inside the parse: further input is dropped unparsed.
    var isPending: Bool { wanted }

    func close(_ connection: Connection?) {
        if parsing > 0 { wanted = true } else { connection?.close() }
    }
}
