import Foundation
@testable import ExecBridge
import ExecModel
import HTTP1
import Logging
import Reactor
import XCTest

/// Side-by-side mode: requests that are not the gateway's own go to the upstream as HTTP/1.1.
final class UpstreamPassthroughTests: XCTestCase {
    /// An upstream like an apiserver's other routes: a list, an echo, a HEAD.
    private func apiServer() throws -> TinyHTTPServer {
        try TinyHTTPServer { request in
            let line = request.requestLine
            if line.hasPrefix("GET /api/v1/namespaces") {
                return TinyHTTPServer.response("200 OK", headers: ["Content-Type: application/json", "Connection: X-Resp-Drop",
                                                                    "X-Resp-Drop: y", "Keep-Alive: timeout=5", "X-Kept: 1"],
                                               body: Array(#"{"kind":"NamespaceList","items":[]}"#.utf8))
            }
            if line.hasPrefix("POST /api/echo") {
                return TinyHTTPServer.chunkedResponse("201 Created", body: request.body, piece: 7000)
            }
            if line.hasPrefix("HEAD ") {
                return Array("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".utf8)
            }
            return TinyHTTPServer.response("404 Not Found", body: Array("404 page not found\n".utf8))
        }
    }

    private func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func testGetPassesThroughWithoutHopByHopHeaders() throws {
        let server = try apiServer()
        let gateway = try gatewayWithBackend("spdy://127.0.0.1:\(server.port)")
        let socket = try RawSocket(port: gateway.port)
        socket.send("GET /api/v1/namespaces?limit=1 HTTP/1.1\r\nHost: gw.example\r\nConnection: keep-alive, X-Drop\r\n"
            + "X-Drop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
            + "Authorization: Bearer client-token\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n")
        let (head, body) = socket.readUntilClose()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"kind":"NamespaceList","items":[]}"#)
        let lines = Set(head.split(separator: "\r\n").dropFirst().map { $0.lowercased() })
        XCTAssertTrue(lines.contains("x-kept: 1"), head)
        XCTAssertTrue(lines.contains("connection: close"), head)
        XCTAssertFalse(lines.contains { $0.hasPrefix("x-resp-drop") || $0.hasPrefix("keep-alive") }, head)

        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.requestLine, "GET /api/v1/namespaces?limit=1 HTTP/1.1")
        XCTAssertEqual(request.header("host"), ["127.0.0.1:\(server.port)"])
        // The client's own X-Forwarded-For is not believed: the gateway writes what it saw.
        XCTAssertEqual(request.header("x-forwarded-for"), ["127.0.0.1"])
        XCTAssertEqual(request.header("x-forwarded-host"), ["gw.example"])
        XCTAssertEqual(request.header("connection"), ["close"])
        // The client's credentials stay here (--passthrough-forward-authorization lets them on);
        // the gateway adds none of its own.
        XCTAssertEqual(request.header("authorization"), [])
        for dropped in ["x-drop", "keep-alive", "te", "proxy-connection"] {
            XCTAssertEqual(request.header(dropped), [], dropped)
        }
    }

    func testPostBodyUpAndChunkedBodyDown() throws {
        let server = try apiServer()
        let gateway = try gatewayWithBackend("h2c://127.0.0.1:\(server.port)", settings: { $0.token = "gateway-only" })
        let payload = random(3 * 1024 * 1024)
        let socket = try RawSocket(port: gateway.port, timeout: 30)
        socket.send("POST /api/echo HTTP/1.1\r\nHost: gw\r\nContent-Type: application/octet-stream\r\nContent-Length: \(payload.count)\r\n\r\n")
        socket.send(payload)
        let (head, body) = socket.readUntilClose()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 201 Created\r\n"), head)
        XCTAssertTrue(head.lowercased().contains("transfer-encoding: chunked"), head)
        let (decoded, trailer) = try XCTUnwrap(Self.dechunk(body))
        XCTAssertEqual(decoded.count, payload.count)
        XCTAssertTrue(decoded == payload, "echoed body differs")
        XCTAssertEqual(trailer, "X-Checksum: \(payload.count)")
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.body.count, payload.count)
        XCTAssertEqual(request.header("authorization"), [])
    }

    func testHeadHasNoBody() throws {
        let server = try apiServer()
        let gateway = try gatewayWithBackend("spdy://127.0.0.1:\(server.port)")
        let socket = try RawSocket(port: gateway.port)
        socket.send("HEAD /api/v1/pods HTTP/1.1\r\nHost: gw\r\n\r\n")
        let (head, body) = socket.readUntilClose()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.contains("Content-Length: 1234"), head)
        XCTAssertEqual(body, [])
    }

    func testGatewayRoutesStayTheGatewaysAndPassthroughCanBeOff() throws {
        let server = try apiServer()
        let on = try gatewayWithBackend("spdy://127.0.0.1:\(server.port)")
        let health = try RawSocket(port: on.port)
        health.send("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(health.readResponse()?.body, "ok")
        let upstream404 = try RawSocket(port: on.port)
        upstream404.send("GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n")
        XCTAssertEqual(String(decoding: upstream404.readUntilClose().body, as: UTF8.self), "404 page not found\n")
        XCTAssertEqual(server.requests.map(\.requestLine), ["GET /metrics HTTP/1.1"])

        let off = try gatewayWithBackend("spdy://127.0.0.1:\(server.port)", settings: { $0.passthrough = false })
        let socket = try RawSocket(port: off.port)
        socket.send("GET /api/v1/namespaces HTTP/1.1\r\nHost: gw\r\n\r\n")
        let answer = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(answer.status, 404)
        XCTAssertTrue(answer.body.contains(#""kind":"Status""#), answer.body)
        XCTAssertEqual(server.requests.count, 1)
    }

    func testUpgradeBecomesATunnel() throws {
        let server = try TinyHTTPServer { request in
            guard request.header("upgrade") == ["tunnel-test"], request.header("connection") == ["Upgrade"] else {
                return TinyHTTPServer.response("400 Bad Request", body: [])
            }
            return Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: tunnel-test\r\nConnection: Upgrade\r\n\r\nfrom the upstream".utf8)
        }
        let gateway = try gatewayWithBackend("spdy://127.0.0.1:\(server.port)")
        let socket = try RawSocket(port: gateway.port)
        socket.send("GET /api/v1/namespaces/default/services/web/proxy/tunnel HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: tunnel-test\r\n\r\n")
        let (head, body) = socket.readUntilClose()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), head)
        XCTAssertTrue(head.contains("Upgrade: tunnel-test"), head)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "from the upstream")
    }

    func testUnreachableUpstreamIs502() throws {
        let gateway = try gatewayWithBackend("spdy://127.0.0.1:\(closedPort())")
        let socket = try RawSocket(port: gateway.port)
        socket.send("GET /api/v1/namespaces HTTP/1.1\r\nHost: gw\r\n\r\n")
        let answer = try XCTUnwrap(socket.readResponse())
        XCTAssertEqual(answer.status, 502)
        XCTAssertTrue(answer.body.contains("error dialing backend: dial tcp 127.0.0.1:"), answer.body)
        XCTAssertTrue(answer.body.contains("connection refused"), answer.body)
    }

    /// The front door refuses chunked request bodies before any handler (411), so this drives the
    /// proxy directly: a chunked upload is forwarded chunk for chunk and ends where it should.
    func testChunkedRequestBodyThroughTheProxy() throws {
        let server = try TinyHTTPServer { request in TinyHTTPServer.response("200 OK", body: request.body) }
        var settings = BackendSettings()
        settings.backend = "spdy://127.0.0.1:\(server.port)"
        let loop = EventLoop()
        let proxy = PassthroughProxy(upstream: try UpstreamConfig(settings), loop: loop, logger: Logger(label: "test"), budget: 16 * 1024)
        var accepted: Connection?
        let listener = try Listener(loop: loop, address: try SocketAddress(parsing: "127.0.0.1:0")) { fd, _ in
            accepted = Connection(loop: loop, fd: fd)
        }
        let payload = random(100_000)
        var wire = Array("PUT /api/upload HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        var offset = 0
        while offset < payload.count {
            let n = min(30_000, payload.count - offset)
            wire += Array("\(String(n, radix: 16));note=x\r\n".utf8) + payload[offset..<offset + n] + Array("\r\n".utf8)
            offset += n
        }
        wire += Array("0\r\n\r\nGET /pipelined HTTP/1.1\r\n\r\n".utf8)

        let request = wire
        let client = UncheckedBox(try RawSocket(port: listener.address.port, timeout: 20))
        let reply = UncheckedBox(ReplyBox())
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            client.value.send(request)
            reply.value.bytes = client.value.readAll()
            done.signal()
        }
        var parser = HTTPRequestParser()
        var head: HTTPRequestHead?
        let deadline = EventLoop.now() + 20
        while done.wait(timeout: .now()) == .timedOut && EventLoop.now() < deadline {
            loop.runOnce(block: false)
            if head == nil, let connection = accepted, connection.inputCount > 0 {
                connection.consumeInput { chunk in
                    let step = parser.feed(chunk)
                    if case .head(let parsed, let consumed) = step {
                        head = parsed
                        return consumed
                    }
                    return chunk.count
                }
                if let head {
                    let context = RequestContext(method: head.method, target: head.target, headers: [], connection: connection)
                    XCTAssertTrue(proxy.take(connection, head: head, context: context))
                }
            }
            usleep(500)
        }
        listener.close()
        // An open connection keeps itself (and the loop) alive until it closes.
        accepted?.close()
        let text = String(decoding: reply.value.bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n"), text.prefix(200).description)
        let forwarded = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(forwarded.requestLine, "PUT /api/upload HTTP/1.1")
        XCTAssertEqual(forwarded.header("transfer-encoding"), ["chunked"])
        XCTAssertTrue(forwarded.body == payload, "forwarded body differs (\(forwarded.body.count) bytes)")
        // What followed the body was not forwarded: one request per exchange.
        XCTAssertEqual(server.requests.count, 1)
    }

    /// Chunked bytes → (body, trailer lines).
    static func dechunk(_ bytes: [UInt8]) -> ([UInt8], String)? {
        var out: [UInt8] = []
        var index = 0
        let crlf = Array("\r\n".utf8)
        while true {
            guard let end = bytes[index...].firstRange(of: crlf),
                  let size = Int(String(decoding: bytes[index..<end.lowerBound], as: UTF8.self), radix: 16) else { return nil }
            index = end.upperBound
            if size == 0 { break }
            guard bytes.count >= index + size + 2 else { return nil }
            out.append(contentsOf: bytes[index..<index + size])
            index += size + 2
        }
        let trailer = String(decoding: bytes[index...], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (out, trailer)
    }
}

private final class ReplyBox {
    var bytes: [UInt8] = []
}
