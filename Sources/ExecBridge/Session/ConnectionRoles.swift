/// A connection handler that can say it is only waiting for a next request (closed first when
/// the connection limit needs room).
protocol IdleKeepAlive: AnyObject {
    var isIdleKeepAlive: Bool { get }
}

/// A connection handler that can wind down when the gateway drains.
protocol Drainable: AnyObject {
    func drain()
}
