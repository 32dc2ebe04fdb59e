import XCTest
@testable import SPDY

final class SessionRuleTests: XCTestCase {
    func testEvenStreamFromAClientIsRefused() {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 2, headers: ["streamtype": "error"]),
                  .synStream(streamID: 1, headers: ["streamtype": "error"]))
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 2, status: .protocolError))])
        XCTAssertEqual(h.events(), [.open(1, ["streamtype": "error"], false)])
    }

    func testOddStreamFromAServerIsRefused() {
        let h = SessionHarness(role: .client)
        h.receive(.synStream(streamID: 1, headers: [:]), .synStream(streamID: 2, headers: [:]))
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 1, status: .protocolError))])
        XCTAssertEqual(h.events(), [.open(2, [:], false)])
    }

    func testReusedStreamIDResetsThatStream() {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: ["streamtype": "error"]),
                  .synStream(streamID: 1, headers: ["streamtype": "stdin"]))
        XCTAssertEqual(h.events(), [.open(1, ["streamtype": "error"], false), .reset(1, .protocolError, byPeer: false)])
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 1, status: .protocolError))])
        XCTAssertNil(h.session.streamState(1))
    }

    func testDecreasingStreamIDIsASessionError() {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 5, headers: [:]), .synStream(streamID: 3, headers: [:]))
        XCTAssertEqual(h.events(), [.open(5, [:], false), .fail(.protocolError("SYN_STREAM 3 after 5"))])
        XCTAssertEqual(h.written(), [.control(.goAway(lastGoodStreamID: 5, status: .protocolError))])
    }

    func testStreamZeroIsASessionError() {
        // The encoder refuses id 0, so build the frame from a valid one.
        var frame = try! SPDYFrameEncoder().encode(.synStream(streamID: 1, headers: [:]))
        frame[11] = 0
        let h = SessionHarness(role: .server)
        h.receive(raw: frame)
        XCTAssertEqual(h.events(), [.fail(.protocolError("SYN_STREAM on stream 0"))])
        XCTAssertEqual(h.written(), [.control(.goAway(lastGoodStreamID: 0, status: .protocolError))])
    }

    func testNoDataBeforeReply() throws {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: ["streamtype": "stdout"]))
        XCTAssertThrowsError(try h.session.sendData(Array("early".utf8), on: 1)) {
            XCTAssertEqual($0 as? SPDYError, .notReplied(1))
        }
        XCTAssertThrowsError(try h.session.finish(1)) { XCTAssertEqual($0 as? SPDYError, .notReplied(1)) }
        XCTAssertTrue(h.recorder.out.isEmpty)
        try h.session.reply(to: 1)
        try h.session.sendData(Array("late".utf8), on: 1)
        XCTAssertEqual(h.written(), [
            .control(.synReply(streamID: 1, headers: [])),
            .begin(1, 4, false), .data(1, Array("late".utf8)), .end(1, false),
        ])
        XCTAssertThrowsError(try h.session.reply(to: 1)) { XCTAssertEqual($0 as? SPDYError, .alreadyReplied(1)) }
        XCTAssertThrowsError(try h.session.reply(to: 9)) { XCTAssertEqual($0 as? SPDYError, .unknownStream(9)) }
    }

    func testOwnStreamsNeedTheirReplyBeforeData() throws {
        let h = SessionHarness(role: .client)
        let id = try h.session.openStream(headers: ["streamtype": "stdin"])
        XCTAssertThrowsError(try h.session.sendData([1], on: id)) { XCTAssertEqual($0 as? SPDYError, .notReplied(id)) }
        XCTAssertThrowsError(try h.session.reply(to: id)) { XCTAssertEqual($0 as? SPDYError, .notPeerInitiated(id)) }
        // DATA from the peer before its SYN_REPLY is a protocol error on that stream.
        h.receive(raw: Raw.data(id, [1, 2]))
        XCTAssertEqual(h.events(), [.reset(id, .protocolError, byPeer: false)])
    }

    func testInvalidReplyHeadersThrowAndLeaveCompressionInStep() throws {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: [:]))
        XCTAssertThrowsError(try h.session.reply(to: 1, headers: ["Transfer-Encoding": "chunked"])) {
            XCTAssertEqual($0 as? SPDYError, .invalidHeader("transfer-encoding is not allowed in SPDY"))
        }
        XCTAssertTrue(h.recorder.out.isEmpty)
        try h.session.reply(to: 1, headers: ["X-Stream-Protocol-Version": "v4.channel.k8s.io"])
        XCTAssertEqual(h.written(), [.control(.synReply(streamID: 1, headers: ["x-stream-protocol-version": "v4.channel.k8s.io"]))])
    }

    func testDataOnUnknownOrClosedStreams() throws {
        let h = SessionHarness(role: .server)
        h.recorder.onOpen = { s, id, _ in try! s.reply(to: id) }
        h.receive(.synStream(streamID: 1, headers: [:]))
        _ = h.written()
        h.receive(raw: Raw.data(7, [1]))  // never opened
        h.receive(raw: Raw.data(1, [1], fin: true) + Raw.data(1, [2]))  // after the peer's FIN
        XCTAssertEqual(h.written(), [
            .control(.rstStream(streamID: 7, status: .invalidStream)),
            .control(.rstStream(streamID: 1, status: .streamAlreadyClosed)),
        ])
        XCTAssertEqual(h.events(), [.open(1, [:], false), .data(1, [1]), .fin(1), .reset(1, .streamAlreadyClosed, byPeer: false)])
        // Late frames on a stream that was reset are ignored: no RST storm.
        h.receive(raw: Raw.data(1, [3]))
        XCTAssertEqual(h.written(), [])
    }

    func testStreamClosesWhenBothSidesFinished() throws {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: [:]))
        try h.session.reply(to: 1)
        XCTAssertEqual(h.session.streamState(1)?.isReplied, true)
        h.receive(raw: Vectors.dataFin1)
        XCTAssertEqual(h.session.streamState(1)?.isRemoteClosed, true)
        try h.session.sendData(Array("bye".utf8), on: 1, fin: true)
        XCTAssertNil(h.session.streamState(1))
        XCTAssertThrowsError(try h.session.finish(1)) { XCTAssertEqual($0 as? SPDYError, .unknownStream(1)) }
        // A frame after both FINs gets STREAM_ALREADY_CLOSED.
        _ = h.written()
        h.receive(raw: Raw.data(1, [0]))
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 1, status: .streamAlreadyClosed))])
    }

    func testResetBothWays() throws {
        let h = SessionHarness(role: .server)
        h.recorder.onOpen = { s, id, _ in try! s.reply(to: id) }
        h.receive(.synStream(streamID: 1, headers: [:]), .synStream(streamID: 3, headers: [:]))
        _ = h.written()
        _ = h.events()
        h.receive(raw: Vectors.rstCancel1)
        XCTAssertEqual(h.events(), [.reset(1, .cancel, byPeer: true)])
        XCTAssertEqual(h.written(), [], "no RST answers a RST")
        h.session.reset(3, status: .cancel)
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 3, status: .cancel))])
        XCTAssertEqual(h.events(), [])
        XCTAssertNil(h.session.streamState(3))
    }

    func testPingEcho() {
        let server = SessionHarness(role: .server)
        server.receive(raw: Vectors.ping1)
        XCTAssertEqual(server.recorder.take(), Vectors.ping1, "a client ping is echoed byte for byte")
        server.receive(raw: Raw.control(type: 6, body: Raw.be32(2)))
        XCTAssertEqual(server.recorder.take(), [], "an even id the server never sent is ignored")
        let id = server.session.ping()
        XCTAssertEqual(id, 2)
        XCTAssertEqual(server.written(), [.control(.ping(id: 2))])
        server.receive(raw: Raw.control(type: 6, body: Raw.be32(2)))
        XCTAssertEqual(server.events(), [.pingAck(2)])
        XCTAssertEqual(server.session.ping(), 4)

        let client = SessionHarness(role: .client)
        XCTAssertEqual(client.session.ping(), 1)
        XCTAssertEqual(client.session.ping(), 3)
        client.receive(raw: Raw.control(type: 6, body: Raw.be32(2)))
        XCTAssertEqual(client.written(), [.control(.ping(id: 1)), .control(.ping(id: 3)), .control(.ping(id: 2))])
        client.receive(raw: Raw.control(type: 6, body: Raw.be32(3)) + Vectors.ping1)
        XCTAssertEqual(client.events(), [.pingAck(3), .pingAck(1)])
    }

    func testGoAwaySent() throws {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: ["streamtype": "error"]))
        try h.session.reply(to: 1)
        _ = h.written()
        h.session.goAway()
        h.session.goAway()
        XCTAssertEqual(h.recorder.out, hex("80 03 00 07 00 00 00 08 00 00 00 01 00 00 00 00"))
        _ = h.written()
        XCTAssertTrue(h.session.isGoingAway)
        XCTAssertThrowsError(try h.session.openStream(headers: [:])) { XCTAssertEqual($0 as? SPDYError, .goingAway) }
        // New streams after our GOAWAY are ignored, existing ones carry on.
        h.receive(.synStream(streamID: 3, headers: [:]))
        try h.session.sendData(Array("tail".utf8), on: 1, fin: true)
        XCTAssertEqual(h.written(), [.begin(1, 4, true), .data(1, Array("tail".utf8)), .end(1, true)])
        // The ignored SYN_STREAM's block was still inflated: the next block decodes.
        h.receive(.headers(streamID: 1, headers: ["k": "v"]))
        XCTAssertEqual(h.events(), [.open(1, ["streamtype": "error"], false), .headers(1, ["k": "v"], false)])
    }

    func testGoAwayReceived() throws {
        let h = SessionHarness(role: .client)
        let ids = try (0..<3).map { _ in try h.session.openStream(headers: [:]) }
        XCTAssertEqual(ids, [1, 3, 5])
        h.receive(.goAway(lastGoodStreamID: 3, status: .ok))
        XCTAssertEqual(h.events(), [.goAway(3, .ok), .reset(5, .refusedStream, byPeer: true)])
        XCTAssertNotNil(h.session.streamState(3))
        XCTAssertTrue(h.session.isGoingAway)
        XCTAssertThrowsError(try h.session.openStream(headers: [:])) { XCTAssertEqual($0 as? SPDYError, .goingAway) }
        // spdystream's Close(): GOAWAY(last received, OK) as bytes.
        let server = SessionHarness(role: .server)
        server.receive(raw: Vectors.goAway0OK)
        XCTAssertEqual(server.events(), [.goAway(0, .ok)])
    }

    func testConcurrentStreamLimitRefuses() {
        var limits = SPDYLimits()
        limits.maxConcurrentStreams = 2
        let h = SessionHarness(role: .server, limits: limits)
        h.receive(.synStream(streamID: 1, headers: [:]), .synStream(streamID: 3, headers: [:]),
                  .synStream(streamID: 5, headers: [:]))
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 5, status: .refusedStream))])
        XCTAssertEqual(h.events().count, 2)
    }

    func testHeadersFrameBothWays() throws {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: [:]))
        try h.session.reply(to: 1)
        try h.session.sendHeaders(1, headers: ["trailer": "x"], fin: true)
        XCTAssertEqual(h.written(), [
            .control(.synReply(streamID: 1, headers: [])), .control(.headers(streamID: 1, fin: true, headers: ["trailer": "x"])),
        ])
        h.receive(.headers(streamID: 1, fin: true, headers: ["k": "v"]))
        XCTAssertEqual(h.events(), [.open(1, [:], false), .headers(1, ["k": "v"], true)])
        XCTAssertNil(h.session.streamState(1))
    }

    func testCallbacksMayCallBackIntoTheSession() throws {
        // A delegate that resets from inside didReceiveData and pings from inside write.
        final class Reentrant: SPDYSessionDelegate {
            var out: [UInt8] = []
            var data: [UInt8] = []
            var pinged = false
            func spdySession(_ s: SPDYSession, write bytes: UnsafeRawBufferPointer) {
                out += bytes
                if !pinged { pinged = true; s.ping() }
            }
            func spdySession(_ s: SPDYSession, didOpenStream id: UInt32, headers: SPDYHeaders, fin: Bool) { try! s.reply(to: id) }
            func spdySession(_ s: SPDYSession, didReceiveReply id: UInt32, headers: SPDYHeaders, fin: Bool) {}
            func spdySession(_ s: SPDYSession, didReceiveData bytes: UnsafeRawBufferPointer, stream id: UInt32) {
                data += bytes
                s.reset(id, status: .cancel)
            }
            func spdySession(_ s: SPDYSession, didReceiveFin id: UInt32) {}
            func spdySession(_ s: SPDYSession, didResetStream id: UInt32, status: SPDYRstStatus, byPeer: Bool) {}
            func spdySession(_ s: SPDYSession, didReceiveGoAway lastGoodStreamID: UInt32, status: SPDYGoAwayStatus) {}
            func spdySession(_ s: SPDYSession, didFail error: SPDYError) {}
        }
        let d = Reentrant()
        let session = SPDYSession(role: .server, limits: SPDYLimits(), delegate: d)
        let e = SPDYFrameEncoder()
        let frame = Raw.data(1, Array(repeating: 9, count: 10))
        session.receive(try e.encode(.synStream(streamID: 1, headers: [:])) + Array(frame[..<12]))
        session.receive(Array(frame[12...]))
        XCTAssertEqual(d.data, [9, 9, 9, 9])
        XCTAssertEqual(FrameReader().read(d.out), [
            .control(.synReply(streamID: 1, headers: [])), .control(.ping(id: 2)),
            .control(.rstStream(streamID: 1, status: .cancel)),
        ])
    }
}
