@testable import ExecBridge
import HTTP2
import Reactor
import XCTest

/// One HTTP/2 request on a fresh connection (prior knowledge, or TLS with ALPN h2), any headers
/// (an RFC 8441 CONNECT waits for the server to allow it): the response's `:status` and the
/// body up to the end of the stream, or only the head when the status is 200 and `headOnly`.
final class H2Probe: ConnectionHandler, HTTP2SessionDelegate {
    private(set) var status: Int?
    private(set) var body: [UInt8] = []
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    private let request: [HTTP2Header]
    private let headOnly: Bool
    private var connection: Connection?
    private var h2: HTTP2Session?
    private var stream: Int32 = 0
    private var done = false

    init(port: UInt16, tls: Bool = false, headers: [(String, String)], headOnly: Bool = false,
         file: StaticString = #filePath, line: UInt = #line) throws {
        request = headers.map { HTTP2Header($0.0, $0.1) }
        self.headOnly = headOnly
        var context: TLSContext?
        if tls { context = try TLSContext(clientCA: try TestCertificate.shared().cert, alpn: ["h2"]) }
        let loop = EventLoop()
        connection = Connection.connect(loop: loop, to: try SocketAddress(host: "127.0.0.1", port: port), tls: context,
                                        serverName: tls ? "localhost" : nil, handler: self)
        let deadline = EventLoop.now() + 20
        while !done && EventLoop.now() < deadline { loop.runOnce() }
        XCTAssertTrue(done, "the HTTP/2 exchange did not end in time", file: file, line: line)
        h2?.terminate(errorCode: 0)
        h2?.flush()
        connection?.closeGracefully(linger: 1)
        let linger = EventLoop.now() + 0.05
        while EventLoop.now() < linger { loop.runOnce(block: false) }
    }

    func connectionDidConnect(_ connection: Connection) {
        let session = HTTP2Session(role: .client, delegate: self)
        h2 = session
        try? session.start()
        session.flush()
    }

    func connectionDidRead(_ connection: Connection) {
        guard let h2 else { return }
        connection.consumeInput { chunk in
            try? h2.receive(chunk)
            return chunk.count
        }
        let connect = request.contains { $0.name == ":protocol" }
        if stream == 0, !done, !connect || h2.peerAllowsExtendedConnect {
            stream = (try? h2.submitRequest(headers: request, hasBody: connect)) ?? -1
        }
        h2.flush()
    }

    func connectionDidClose(_ connection: Connection, reason: Connection.CloseReason) {
        done = true
        self.connection = nil
    }

    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer) {
        connection?.write(bytes)
    }

    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        guard stream == self.stream, !isTrailer else { return }
        status = Int(headers.first(":status") ?? "")
        if endStream || (headOnly && status == 200) { done = true }
    }

    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        session.consume(stream: stream, bytes: bytes.count)
        if stream == self.stream { body.append(contentsOf: bytes) }
    }

    func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32) {
        if stream == self.stream { done = true }
    }

    func http2Session(_ session: HTTP2Session, didCloseStream stream: Int32, errorCode: UInt32) {
        if stream == self.stream { done = true }
    }

    func http2Session(_ session: HTTP2Session, streamCanSendMore stream: Int32) {}
}
