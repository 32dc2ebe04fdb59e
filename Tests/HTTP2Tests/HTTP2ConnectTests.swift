import XCTest
@testable import HTTP2

/// RFC 8441 extended CONNECT (the spec's WebSocket-over-HTTP/2 item).
final class HTTP2ConnectTests: XCTestCase {
    let connect = [HTTP2Header(":method", "CONNECT"), HTTP2Header(":protocol", "websocket"),
                   HTTP2Header(":scheme", "http"), HTTP2Header(":path", "/exec/ns/pod/c?command=sh&input=1"),
                   HTTP2Header(":authority", "gw.example"),
                   HTTP2Header("sec-websocket-protocol", "v5.channel.k8s.io")]

    func testExtendedConnectReachesTheServerWhenEnabled() throws {
        let p = try Pair(server: HTTP2Settings(enableConnectProtocol: true))
        try p.pump()
        XCTAssertTrue(p.client.peerAllowsExtendedConnect)
        p.s.onHeaders = { session, _, id in
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: true)
            _ = try? session.sendData([0x82, 0x01, 0x01], stream: id)
        }
        let id = try p.client.submitRequest(headers: connect, hasBody: true)
        try p.client.sendData([0x82, 0x81, 0, 0, 0, 0, 0x00], stream: id)
        try p.pump()
        let got = try XCTUnwrap(p.s.headers[id]?.first)
        XCTAssertEqual(got.first(":method"), "CONNECT")
        XCTAssertEqual(got.first(":protocol"), "websocket")
        XCTAssertEqual(got.first(":path"), "/exec/ns/pod/c?command=sh&input=1")
        XCTAssertEqual(p.s.bodies[id], [0x82, 0x81, 0, 0, 0, 0, 0x00])
        XCTAssertEqual(p.c.headers[id]?.first, [HTTP2Header(":status", "200")])
        XCTAssertEqual(p.c.bodies[id], [0x82, 0x01, 0x01])
    }

    func testExtendedConnectIsResetWhenNotEnabled() throws {
        let p = try Pair()
        try p.pump()
        XCTAssertFalse(p.client.peerAllowsExtendedConnect)
        let id = try p.client.submitRequest(headers: connect, hasBody: true)
        try p.pump()
        XCTAssertEqual(p.s.events, [])
        XCTAssertEqual(p.c.events, [.close(id, HTTP2ErrorCode.protocolError)])
        XCTAssertTrue(p.server.wantsRead, "a stream error, not a connection error")
    }
}
