/// A connection handler that can say it is only waiting for a next request (closed first when
/// the connection limit needs room).
protocol IdleKeepAlive: AnyObject {
    var isIdleKeepAlive: Bool { get }
}

/// A connection handler that can wind down when the gateway drains.
protocol Drainable: AnyObject {
    func drain()
    /// The gateway stopped being ready (`--drain-delay`) but still serves: a connection that
    /// carries no session may be told to go, so that its client's next session opens a new
    /// connection, which the load balancer gives to a ready replica.
    func leaveIfIdle()
}

extension Drainable {
    /// HTTP/1.1 keep-alive connections stay: closing one races a request the client may be sending
    /// on it, and a POST (an exec upgrade) is not retried.
    func leaveIfIdle() {}
}
