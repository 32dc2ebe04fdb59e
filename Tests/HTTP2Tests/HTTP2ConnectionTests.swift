import XCTest
@testable import HTTP2

final class HTTP2ConnectionTests: XCTestCase {
    func testServerFirstOutputIsItsSettings() throws {
        let settings = HTTP2Settings(maxConcurrentStreams: 16, initialWindowSize: 65_535,
                                     maxHeaderListSize: 65_536, enableConnectProtocol: true)
        let peer = Peer()
        let server = HTTP2Session(role: .server, delegate: peer, settings: settings)
        try server.start()
        server.flush()
        XCTAssertEqual(Array(peer.outbox.prefix(9)), [0, 0, 24, 4, 0, 0, 0, 0, 0])
        let frames = Frame.parse(peer.outbox)
        XCTAssertEqual(frames.count, 2)
        XCTAssertEqual(frames[0].type, FrameType.settings)
        XCTAssertEqual(frames[0].flags, 0)
        XCTAssertEqual(frames[0].stream, 0)
        XCTAssertEqual(frames[0].settings.map(\.0), [3, 4, 6, 8])
        XCTAssertEqual(frames[0].settings.map(\.1), [16, 65_535, 65_536, 1])
        // Then the connection window grows to 1 MiB.
        XCTAssertEqual(frames[1], Frame(type: FrameType.windowUpdate, flags: 0, stream: 0,
                                        payload: [0, 0x0f, 0, 0x01]))
    }

    func testClientFirstOutputIsPrefaceAndSettings() throws {
        let peer = Peer()
        let client = HTTP2Session(role: .client, delegate: peer,
                                  settings: HTTP2Settings(maxConcurrentStreams: 100, connectionWindowSize: 65_535))
        try client.start()
        client.flush()
        XCTAssertEqual(Array(peer.outbox.prefix(24)), Frame.magic)
        let frames = Frame.parse(peer.outbox, skippingMagic: true)
        XCTAssertEqual(frames.count, 1, "no WINDOW_UPDATE when the connection window stays at its default")
        XCTAssertEqual(frames[0].settings.map(\.0), [2, 3, 4, 6])
        XCTAssertEqual(frames[0].settings.map(\.1), [0, 100, 65_535, 65_536])
    }

    func testPingIsAcknowledged() throws {
        let p = try Pair()
        try p.pump()
        p.client.ping()
        try p.pump()
        XCTAssertEqual(p.c.events, [.pingAck])
        XCTAssertEqual(p.s.events, [])
    }

    func testGracefulShutdownLetsTheOpenStreamFinish() throws {
        let p = try Pair()
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.pump()
        p.server.shutdownGracefully()
        try p.pump()
        XCTAssertEqual(p.c.events, [.goAway(Int32.max, 0), .goAway(1, 0)])
        XCTAssertTrue(p.server.wantsRead, "stream 1 is still open")

        // A new stream after GOAWAY is refused locally and never reaches the server.
        let late = try? p.client.submitRequest(headers: request(), hasBody: false)
        XCTAssertEqual(late, 3)
        try p.pump()
        XCTAssertEqual(p.c.events.last, .close(3, HTTP2ErrorCode.refusedStream))
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: false, isTrailer: false)])

        try p.server.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: false)
        try p.client.sendData(bytes("last"), stream: id)
        try p.client.endStream(id)
        try p.pump()
        XCTAssertEqual(p.s.bodies[id], bytes("last"))
        XCTAssertTrue(p.s.events.contains(.close(id, 0)))
        XCTAssertFalse(p.server.wantsRead)
        XCTAssertFalse(p.server.wantsWrite)
        XCTAssertFalse(p.client.wantsRead)
        XCTAssertFalse(p.client.wantsWrite)
    }

    func testClientShutdownSendsGoAway() throws {
        let p = try Pair()
        try p.pump()
        p.client.shutdownGracefully()
        try p.pump()
        XCTAssertEqual(p.s.events, [.goAway(0, 0)])
        XCTAssertFalse(p.client.wantsWrite)
    }

    func testTerminateWritesGoAwayWithTheCode() throws {
        let p = try Pair()
        try p.pump()
        p.server.terminate(errorCode: HTTP2ErrorCode.enhanceYourCalm)
        p.server.flush()
        let frames = Frame.parse(p.s.outbox)
        XCTAssertEqual(frames.map(\.type), [FrameType.goAway])
        XCTAssertEqual(Frame.u32(frames[0].payload, 4), HTTP2ErrorCode.enhanceYourCalm)
        XCTAssertFalse(p.server.wantsRead)
        try p.pump()
        XCTAssertEqual(p.c.events, [.goAway(0, HTTP2ErrorCode.enhanceYourCalm)])
    }

    func testGarbageAfterPrefaceIsAProtocolError() throws {
        let peer = Peer()
        let server = HTTP2Session(role: .server, delegate: peer)
        try server.start()
        server.flush()
        peer.outbox.removeAll()
        let input = Frame.magic + bytes("garbage, certainly not a SETTINGS frame")
        XCTAssertThrowsError(try server.receive(input)) { error in
            guard case .connectionError(let code, _)? = error as? HTTP2Error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(code, HTTP2ErrorCode.protocolError)
        }
        let goAway = try XCTUnwrap(Frame.parse(peer.outbox).first { $0.type == FrameType.goAway })
        XCTAssertEqual(goAway.stream, 0)
        XCTAssertEqual(Frame.u32(goAway.payload, 0), 0, "last stream id")
        XCTAssertEqual(Frame.u32(goAway.payload, 4), HTTP2ErrorCode.protocolError)
        XCTAssertFalse(server.wantsRead)
        XCTAssertThrowsError(try server.receive(bytes("more")), "a failed session stays failed")
    }

    func testDataOnStreamZeroIsAProtocolError() throws {
        let p = try Pair()
        try p.pump()
        let bad: [UInt8] = [0, 0, 1, FrameType.data, 0, 0, 0, 0, 0, 0x41]
        XCTAssertThrowsError(try p.server.receive(bad)) {
            XCTAssertEqual(($0 as? HTTP2Error).map { if case .connectionError(let c, _) = $0 { c } else { 99 } },
                           HTTP2ErrorCode.protocolError)
        }
        try p.pump()
        XCTAssertEqual(p.c.events, [.goAway(0, HTTP2ErrorCode.protocolError)])
    }

    func testHTTP1RequestInsteadOfPrefaceIsRejected() throws {
        let peer = Peer()
        let server = HTTP2Session(role: .server, delegate: peer)
        try server.start()
        XCTAssertThrowsError(try server.receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))) {
            guard case .library? = $0 as? HTTP2Error else { return XCTFail("unexpected \($0)") }
        }
        let frames = Frame.parse(peer.outbox)
        XCTAssertEqual(frames.last?.type, FrameType.goAway)
        XCTAssertEqual(frames.last.map { Frame.u32($0.payload, 4) }, HTTP2ErrorCode.protocolError)
    }

    func testCallsBeforeStartAreRefused() throws {
        let peer = Peer()
        let client = HTTP2Session(role: .client, delegate: peer)
        XCTAssertThrowsError(try client.submitRequest(headers: request(), hasBody: false))
        XCTAssertThrowsError(try client.receive([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        client.flush()
        XCTAssertEqual(peer.outbox, [], "nothing goes out before SETTINGS are queued")
    }

    func testReceiveFromInsideACallbackIsRefused() throws {
        let p = try Pair()
        var inner: Error?
        p.s.onHeaders = { session, _, _ in
            do { try session.receive([0]) } catch { inner = error }
        }
        _ = try p.client.submitRequest(headers: request(), hasBody: false)
        try p.pump()
        XCTAssertEqual(inner as? HTTP2Error, .reentrantReceive)
    }
}
