@testable import ExecBridge
import HTTP2
import Reactor
import XCTest

/// One HTTP/2 connection (prior knowledge, or TLS with ALPN h2) carrying as many streams as the
/// test opens, each recorded apart: response head, body, trailers, how it closed. A stream can be
/// left unread (its DATA is never credited back), as a client that stops reading one response.
/// The test drives the client's own loop with `run(until:)`.
final class H2MuxClient: ConnectionHandler, HTTP2SessionDelegate {
    final class Stream {
        var head: [HTTP2Header] = []
        var trailers: [HTTP2Header] = []
        var body: [UInt8] = []
        var ended = false
        /// Set once the stream closed: 0 for a clean close, else the RST_STREAM code.
        var closeCode: UInt32?
        var status: Int? { Int(head.first(":status") ?? "") }
        var text: String { String(decoding: body, as: UTF8.self) }
        var exitCode: Int? { Int(trailers.first("exec-exit-code") ?? "") }
    }

    private(set) var streams: [Int32: Stream] = [:]
    /// Streams whose DATA is not credited back: the server's window for them runs out.
    var unread: Set<Int32> = []
    private(set) var connected = false
    private(set) var receivedBytes = 0
    private(set) var closed = false
    private(set) var goAway: (lastStream: Int32, code: UInt32)?
    private let loop = EventLoop()
    private var connection: Connection?
    private(set) var h2: HTTP2Session!

    init(port: UInt16, tls: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        var context: TLSContext?
        if tls { context = try TLSContext(clientCA: try TestCertificate.shared().cert, alpn: ["h2"]) }
        connection = Connection.connect(loop: loop, to: try SocketAddress(host: "127.0.0.1", port: port), tls: context,
                                        serverName: tls ? "localhost" : nil, handler: self)
        // The server's SETTINGS (its first frame) arrived: its limits are known before the test
        // opens streams (nghttp2 assumes 100 concurrent streams until then).
        XCTAssertTrue(run { self.receivedBytes > 0 || self.closed },
                      "no SETTINGS from the server", file: file, line: line)
    }

    deinit { close() }

    /// Opens a stream; with `body`, it is sent and, with `end`, the request ends after it.
    @discardableResult
    func open(_ headers: [(String, String)], body: [UInt8]? = nil, end: Bool = true) throws -> Int32 {
        let id = try h2.submitRequest(headers: headers.map { HTTP2Header($0.0, $0.1) }, hasBody: body != nil || !end)
        streams[id] = Stream()
        if let body {
            if !body.isEmpty { try h2.sendData(body, stream: id) }
            if end { try h2.endStream(id) }
        }
        h2.flush()
        return id
    }

    /// A single-stream exec request (spec §5 item 7) for `path`.
    @discardableResult
    func exec(_ path: String, extra: [(String, String)] = []) throws -> Int32 {
        try open([(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)] + extra)
    }

    func reset(_ stream: Int32, code: UInt32 = HTTP2ErrorCode.cancel) {
        h2.resetStream(stream, errorCode: code)
        h2.flush()
    }

    /// Credits a stream left unread with what it received so far, and reads it from now on.
    func resumeReading(_ stream: Int32) {
        unread.remove(stream)
        h2.consume(stream: stream, bytes: Int.max)
        h2.flush()
    }

    /// Runs the loop until `condition` holds or `timeout` passed; returns the condition.
    @discardableResult
    func run(timeout: Double = 20, until condition: () -> Bool) -> Bool {
        let deadline = EventLoop.now() + timeout
        while !condition() && EventLoop.now() < deadline { loop.runOnce() }
        return condition()
    }

    func close() {
        guard let connection else { return }
        h2?.terminate(errorCode: 0)
        h2?.flush()
        connection.closeGracefully(linger: 1)
        // GOAWAY out and the server's close seen, so the gateway is not left holding the socket.
        run(timeout: 2) { self.closed }
        self.connection = nil
    }

    subscript(_ id: Int32) -> Stream { streams[id]! }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: Connection) {
        let session = HTTP2Session(role: .client, delegate: self)
        h2 = session
        try? session.start()
        session.flush()
        connected = true
    }

    func connectionDidRead(_ connection: Connection) {
        guard let h2 else { return }
        connection.consumeInput { chunk in
            receivedBytes += chunk.count
            try? h2.receive(chunk)
            return chunk.count
        }
        h2.flush()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        closed = true
        self.connection = nil
    }

    // MARK: HTTP2SessionDelegate

    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        guard let s = streams[stream] else { return }
        if isTrailer { s.trailers = headers } else { s.head = headers }
    }

    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        streams[stream]?.body.append(contentsOf: bytes)
        if !unread.contains(stream) { session.consume(stream: stream, bytes: bytes.count) }
    }

    func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32) {
        streams[stream]?.ended = true
    }

    func http2Session(_ session: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        streams[stream]?.closeCode = errorCode
    }

    func http2Session(_ session: HTTP2Session, didReceiveGoAway lastStreamID: Int32, errorCode: UInt32) {
        goAway = (lastStreamID, errorCode)
    }
}
