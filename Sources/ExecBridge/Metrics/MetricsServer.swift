import ExecModel
import Glibc
import HTTP1
import Reactor

/// `--metrics-listen`: `GET /metrics` in the Prometheus text format and nothing else (404), one
/// request per connection, on one loop. Its connections are not the gateway's: they count toward
/// no limit and no metric of client connections.
final class MetricsServer {
    /// Scrapers are few; more at once is a flood, closed at accept.
    static let maxConnections = 32
    static let headTimeout = 10.0

    let loop: EventLoop
    private let tls: TLSContext?
    /// nil: the scrape may proceed; otherwise the refusal (401, 403) to answer.
    private let authorize: (RequestContext) -> RequestError?
    private var listener: Listener?
    private var connections: [ObjectIdentifier: Connection] = [:]

    init(loop: EventLoop, tls: TLSContext?, authorize: @escaping (RequestContext) -> RequestError?) {
        self.loop = loop
        self.tls = tls
        self.authorize = authorize
    }

    func listen(on address: SocketAddress) throws -> SocketAddress {
        let listener = try Listener(loop: loop, address: address, backlog: 64) { [unowned self] fd, _ in
            self.accept(fd)
        }
        self.listener = listener
        return listener.address
    }

    /// The listening socket (nil before `listen` and after `close`).
    var listenerDescriptor: Int32? { listener?.fileDescriptor }

    /// Stops accepting and ends every scrape (on drain: the loop is about to stop).
    func close() {
        listener?.close()
        listener = nil
        for connection in Array(connections.values) { connection.close() }
    }

    private func accept(_ fd: Int32) {
        guard connections.count < Self.maxConnections else {
            _ = Glibc.close(fd)
            return
        }
        let connection = Connection(loop: loop, fd: fd, tls: tls)
        connections[ObjectIdentifier(connection)] = connection
        connection.closeObserver = { [weak self] closed in self?.connections[ObjectIdentifier(closed)] = nil }
        connection.handler = MetricsRequestHandler(connection: connection, authorize: authorize)
    }
}

/// One scrape: reads a request head with the HTTP/1 codec and answers it, then closes.
final class MetricsRequestHandler: ConnectionHandler {
    private let connection: Connection
    private let authorize: (RequestContext) -> RequestError?
    private var parser = HTTPRequestParser(limits: HTTPParseLimits())
    private var headTimer: LoopTimer?
    private var answered = false

    init(connection: Connection, authorize: @escaping (RequestContext) -> RequestError?) {
        self.connection = connection
        self.authorize = authorize
        headTimer = LoopTimer(loop: connection.loop, after: MetricsServer.headTimeout) { [weak connection] in
            connection?.close()
        }
    }

    func connectionDidRead(_ connection: Connection) {
        guard !answered else {
            // Nothing more is read after the answer (one request per connection).
            _ = connection.consumeInput { $0.count }
            return
        }
        var step: HTTPParseStep<HTTPRequestHead> = .needMore
        _ = connection.consumeInput { chunk in
            step = parser.feed(chunk)
            if case .head(_, let consumed) = step { return consumed }
            return chunk.count
        }
        switch step {
        case .needMore: return
        case .failure(let error): send(status: error.status, body: Array((error.message + "\n").utf8), head: nil)
        case .head(let head, _): answer(head)
        }
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        headTimer?.cancel()
        headTimer = nil
    }

    private func answer(_ head: HTTPRequestHead) {
        let path = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path == "/metrics" else {
            return send(status: 404, body: Array("not found: this listener serves /metrics only\n".utf8), head: head)
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            return send(status: 405, body: Array("method not allowed\n".utf8), head: head, extra: [("Allow", "GET, HEAD")])
        }
        let context = RequestContext(method: head.method, target: head.target,
                                     headers: head.headers.pairs.map { (name: $0.name.lowercased(), value: $0.value) },
                                     connection: connection)
        if let error = authorize(context) {
            return send(status: error.code, body: Array(error.statusJSON.utf8), head: head,
                        extra: error.headers.map { ($0.name, $0.value) }, type: "application/json")
        }
        send(status: 200, body: Handles.shared.scrape(), head: head)
    }

    private func send(status: Int, body: [UInt8], head: HTTPRequestHead?, extra: [(String, String)] = [],
                      type: String = "text/plain; version=0.0.4; charset=utf-8") {
        answered = true
        headTimer?.cancel()
        headTimer = nil
        var headers = HTTPHeaders()
        headers.add("Content-Type", type)
        for (name, value) in extra { headers.add(name, value) }
        headers.add("Content-Length", String(body.count))
        headers.add("Connection", "close")
        connection.write(HTTPResponseHead(status: status, headers: headers).serialized())
        if head?.method != "HEAD" { connection.write(body) }
        connection.closeGracefully(linger: 2)
    }
}
