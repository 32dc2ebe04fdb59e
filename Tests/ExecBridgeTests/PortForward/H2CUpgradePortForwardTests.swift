@testable import ExecBridge
import ExecModel
import Glibc
import HTTP2
import Reactor
import XCTest

/// Port-forward over an h2c upgrade: stream 1 (the upgrade request) gets `:status 200` and no body,
/// then tunnels are stream pairs as on any HTTP/2 connection.
final class H2CUpgradePortForwardTests: XCTestCase {
    func testTheUpgradeStreamIsAnsweredAndTunnelsFollow() throws {
        let pod = try PodPortServer(serve: PodPortServer.echo)
        let harness = try PortForwardFixtures.gateway(podPorts: [pod.port])
        let client = try BlockingH2Client(upgradeOn: harness.port, path: PortForwardFixtures.kubeletPath)
        XCTAssertEqual(client.upgradeStatus, 101)
        XCTAssertTrue(client.pump { client.ended.contains(1) })
        XCTAssertEqual(client.heads[1]?.first(":status"), "200")
        XCTAssertEqual(client.bodies[1] ?? [], [])

        let path = PortForwardFixtures.kubeletPath
        func headers(_ type: String) -> [HTTP2Header] {
            [HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":authority", "127.0.0.1"),
             HTTP2Header(":path", path), HTTP2Header("streamtype", type), HTTP2Header("port", "\(pod.port)"),
             HTTP2Header("requestid", "r1")]
        }
        let error = try client.h2.submitRequest(headers: headers("error"), hasBody: false)
        client.h2.flush()
        XCTAssertTrue(client.pump { client.heads[error] != nil })
        let data = try client.h2.submitRequest(headers: headers("data"), hasBody: true)
        let payload = PortForwardFixtures.random(200 << 10)
        try client.h2.sendData(payload, stream: data)
        try client.h2.endStream(data)
        client.h2.flush()
        XCTAssertTrue(client.pump { client.ended.contains(data) && client.ended.contains(error) })
        XCTAssertEqual(client.heads[data]?.first(":status"), "200")
        XCTAssertTrue(client.bodies[data] == payload, "the bytes came back changed")
        XCTAssertEqual(client.bodies[error] ?? [], [])
    }

    func testAnUpgradeWithABodyIsRefused() throws {
        let harness = try PortForwardFixtures.gateway(podPorts: [8080])
        let socket = try RawSocket(port: harness.port)
        socket.send("POST \(PortForwardFixtures.kubeletPath) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: \r\nContent-Length: 3\r\n\r\nabc")
        let answer = socket.readResponse()
        XCTAssertEqual(answer?.status, 400)
        XCTAssertTrue(answer?.body.contains("a port-forward upgrade request carries no body") == true, answer?.body ?? "")
    }
}

/// A blocking HTTP/2 client on a raw socket after an h2c upgrade.
final class BlockingH2Client: HTTP2SessionDelegate {
    let socket: RawSocket
    private(set) var h2: HTTP2Session!
    let upgradeStatus: Int?
    private(set) var heads: [Int32: [HTTP2Header]] = [:]
    private(set) var bodies: [Int32: [UInt8]] = [:]
    private(set) var ended: Set<Int32> = []

    init(upgradeOn port: UInt16, path: String) throws {
        socket = try RawSocket(port: port)
        let settings = HTTP2Settings()
        socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: \(HTTP2Session.settingsHeaderValue(settings))\r\n\r\n")
        upgradeStatus = socket.readResponse()?.status
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        h2 = HTTP2Session(role: .client, delegate: self, settings: settings)
        try h2.clientUpgraded()
        h2.flush()
        let early = socket.takeBuffered()
        if !early.isEmpty { try h2.receive(early) }
    }

    @discardableResult
    func pump(timeout: Double = 20, until done: () -> Bool) -> Bool {
        let deadline = EventLoop.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done() && EventLoop.now() < deadline {
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            if n > 0 { try? buffer[0..<n].withUnsafeBytes { try h2.receive($0) } }
            h2.flush()
        }
        return done()
    }

    func http2Session(_ session: HTTP2Session, write bytes: UnsafeRawBufferPointer) { socket.send(Array(bytes)) }
    func http2Session(_ session: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                      endStream: Bool, isTrailer: Bool) {
        if !isTrailer { heads[stream] = headers }
    }
    func http2Session(_ session: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {
        bodies[stream, default: []].append(contentsOf: bytes)
        session.consume(stream: stream, bytes: bytes.count)
    }
    func http2Session(_ session: HTTP2Session, didReceiveEndStream stream: Int32) { ended.insert(stream) }
}
