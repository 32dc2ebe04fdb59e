import XCTest
@testable import HTTP2

final class HTTP2ExchangeTests: XCTestCase {
    func testRequestAndResponseWithBodiesBothWays() throws {
        let p = try Pair()
        p.s.onHeaders = { session, _, id in
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: true)
            _ = try? session.sendData(bytes("stdout bytes"), stream: id)
            try? session.endStream(id)
        }
        let id = try p.client.submitRequest(headers: request(extra: [HTTP2Header("StreamType", "stdin")]),
                                            hasBody: true)
        XCTAssertEqual(id, 1)
        try p.client.sendData(bytes("stdin "), stream: id)
        try p.client.sendData(bytes("bytes"), stream: id)
        try p.client.endStream(id)
        try p.pump()

        let got = try XCTUnwrap(p.s.headers[1]?.first)
        XCTAssertEqual(got.first(":method"), "POST")
        XCTAssertEqual(got.first(":path"), "/exec/ns/pod/c?command=date&output=1")
        XCTAssertEqual(got.first("streamtype"), "stdin", "names go out lowercased")
        XCTAssertEqual(p.s.bodies[1], bytes("stdin bytes"))
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: false, isTrailer: false), .endStream(1),
                                    .close(1, 0)])
        XCTAssertEqual(p.c.headers[1]?.first, [HTTP2Header(":status", "200")])
        XCTAssertEqual(p.c.bodies[1], bytes("stdout bytes"))
        XCTAssertEqual(p.c.events, [.headers(stream: 1, endStream: false, isTrailer: false), .endStream(1),
                                    .close(1, 0)])
        XCTAssertTrue(p.client.isIdle)
        XCTAssertTrue(p.server.isIdle)
    }

    func testHeadersOnlyCarryEndStreamBothWays() throws {
        let p = try Pair()
        p.s.onHeaders = { session, _, id in
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "204")], hasBody: false)
        }
        let id = try p.client.submitRequest(headers: request("GET"), hasBody: false)
        XCTAssertThrowsError(try p.client.sendData(bytes("x"), stream: id)) {
            XCTAssertEqual($0 as? HTTP2Error, .streamNotWritable(id))
        }
        try p.pump()
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: true, isTrailer: false), .endStream(1),
                                    .close(1, 0)])
        XCTAssertEqual(p.c.events, [.headers(stream: 1, endStream: true, isTrailer: false), .endStream(1),
                                    .close(1, 0)])
        XCTAssertNil(p.c.bodies[1])
    }

    func testEmptyBodyEndsWithEmptyDataFrame() throws {
        let p = try Pair()
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.pump()
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: false, isTrailer: false)])
        try p.client.endStream(id)
        p.client.flush()
        let frames = Frame.parse(p.c.outbox)
        XCTAssertEqual(frames, [Frame(type: FrameType.data, flags: 0x1, stream: 1, payload: [])])
        try p.pump()
        XCTAssertEqual(p.s.events.last, .endStream(1))
        XCTAssertThrowsError(try p.client.endStream(id))
    }

    func testTrailersBothWays() throws {
        let p = try Pair()
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData(bytes("in"), stream: id)
        try p.client.submitTrailers(stream: id, headers: [HTTP2Header("x-client-done", "yes")])
        p.s.onHeaders = { session, headers, id in
            guard headers.first(":method") != nil else { return }
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: true)
            _ = try? session.sendData(bytes("out"), stream: id)
            try? session.submitTrailers(stream: id, headers: [HTTP2Header("exec-exit-code", "3"),
                                                              HTTP2Header("exec-status", "{\"status\":\"Failure\"}")])
        }
        try p.pump()
        XCTAssertEqual(p.s.headers[1]?.last, [HTTP2Header("x-client-done", "yes")])
        XCTAssertEqual(p.s.bodies[1], bytes("in"))
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: false, isTrailer: false),
                                    .headers(stream: 1, endStream: true, isTrailer: true), .endStream(1),
                                    .close(1, 0)])
        XCTAssertEqual(p.c.bodies[1], bytes("out"))
        XCTAssertEqual(p.c.headers[1]?.last, [HTTP2Header("exec-exit-code", "3"),
                                              HTTP2Header("exec-status", "{\"status\":\"Failure\"}")])
        XCTAssertEqual(p.c.events, [.headers(stream: 1, endStream: false, isTrailer: false),
                                    .headers(stream: 1, endStream: true, isTrailer: true), .endStream(1),
                                    .close(1, 0)])
    }

    func testServerResetsStream() throws {
        let p = try Pair()
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData(bytes("abc"), stream: id)
        try p.pump()
        p.server.resetStream(id, errorCode: HTTP2ErrorCode.refusedStream)
        try p.pump()
        XCTAssertEqual(p.c.events, [.close(1, HTTP2ErrorCode.refusedStream)])
        XCTAssertEqual(p.s.events.last, .close(1, HTTP2ErrorCode.refusedStream))
        XCTAssertThrowsError(try p.client.sendData(bytes("late"), stream: id)) {
            XCTAssertEqual($0 as? HTTP2Error, .unknownStream(id))
        }
        XCTAssertEqual(p.client.pendingBytes(stream: id), 0)
        XCTAssertTrue(p.client.isIdle)
        XCTAssertTrue(p.server.isIdle)
    }

    func testClientResetsStreamAndRstStreamBytesGoOut() throws {
        let p = try Pair()
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.pump()
        p.client.resetStream(id, errorCode: HTTP2ErrorCode.cancel)
        p.client.flush()
        let frames = Frame.parse(p.c.outbox)
        XCTAssertEqual(frames, [Frame(type: FrameType.rstStream, flags: 0, stream: 1, payload: [0, 0, 0, 8])])
        try p.pump()
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: false, isTrailer: false),
                                    .close(1, HTTP2ErrorCode.cancel)])
        XCTAssertEqual(p.c.events, [.close(1, HTTP2ErrorCode.cancel)])
    }

    func testSeveralStreamsInterleave() throws {
        let p = try Pair()
        p.s.onHeaders = { session, headers, id in
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: true)
            _ = try? session.sendData(bytes(headers.first("streamtype") ?? "?"), stream: id)
        }
        var ids: [Int32] = []
        for channel in ["stdin", "stdout", "stderr", "error", "resize"] {
            ids.append(try p.client.submitRequest(headers: request(extra: [HTTP2Header("streamtype", channel)]),
                                                  hasBody: true))
        }
        XCTAssertEqual(ids, [1, 3, 5, 7, 9])
        try p.pump()
        XCTAssertEqual(p.c.bodies[3], bytes("stdout"))
        XCTAssertEqual(p.c.bodies[9], bytes("resize"))
        for id in ids { try p.server.endStream(id); try p.client.endStream(id) }
        try p.pump()
        XCTAssertTrue(p.client.isIdle)
        XCTAssertTrue(p.server.isIdle)
        XCTAssertEqual(p.c.events.filter { if case .close = $0 { return true } else { return false } }.count, 5)
    }

    func testOversizedHeaderListIsRefused() throws {
        let p = try Pair(server: HTTP2Settings(maxHeaderListSize: 1024))
        try p.pump()
        _ = try p.client.submitRequest(headers: request(extra: [HTTP2Header("x-big", String(repeating: "a", count: 2000))]),
                                       hasBody: false)
        try p.pump()
        XCTAssertEqual(p.s.events, [])
        XCTAssertEqual(p.c.events, [.close(1, HTTP2ErrorCode.protocolError)])
    }

    func testMalformedRequestHeadersAreResetByNghttp2() throws {
        let p = try Pair()
        try p.pump()
        _ = try p.client.submitRequest(headers: [HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"),
                                                 HTTP2Header(":authority", "gw")], hasBody: false)
        _ = try p.client.submitRequest(headers: request("GET", extra: [HTTP2Header(":foo", "bar")]), hasBody: false)
        _ = try p.client.submitRequest(headers: request("GET", extra: [HTTP2Header("connection", "close")]),
                                       hasBody: false)
        try p.pump()
        XCTAssertEqual(p.s.events, [])
        XCTAssertEqual(p.c.events, [.close(1, HTTP2ErrorCode.protocolError), .close(3, HTTP2ErrorCode.protocolError),
                                    .close(5, HTTP2ErrorCode.protocolError)])
        XCTAssertTrue(p.server.isIdle)
    }

    func testStreamsBeyondTheConcurrencyLimitAreRefused() throws {
        let p = try Pair(server: HTTP2Settings(maxConcurrentStreams: 2))
        let ids = try (0..<3).map { _ in try p.client.submitRequest(headers: request(), hasBody: true) }
        try p.pump()   // all three left before the server's SETTINGS arrived
        XCTAssertEqual(p.s.events, [.headers(stream: 1, endStream: false, isTrailer: false),
                                    .headers(stream: 3, endStream: false, isTrailer: false)])
        XCTAssertEqual(p.c.events, [.close(ids[2], HTTP2ErrorCode.refusedStream)])
        for id in ids.prefix(2) { p.server.resetStream(id, errorCode: HTTP2ErrorCode.cancel) }
        try p.pump()
        XCTAssertTrue(p.server.isIdle)
        XCTAssertTrue(p.client.isIdle)
    }

    func testWrongRoleCallsThrow() throws {
        let p = try Pair()
        XCTAssertThrowsError(try p.server.submitRequest(headers: request(), hasBody: false))
        XCTAssertThrowsError(try p.client.start())
        XCTAssertThrowsError(try p.server.submitResponse(stream: 5, headers: [HTTP2Header(":status", "200")],
                                                         hasBody: false)) {
            XCTAssertEqual($0 as? HTTP2Error, .unknownStream(5))
        }
    }
}
