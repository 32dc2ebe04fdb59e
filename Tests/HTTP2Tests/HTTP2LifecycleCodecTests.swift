import XCTest
@testable import HTTP2

/// The codec's part of issue 13: a halted session parses nothing more, not even the rest of the
/// buffer it is in; a request on a stream id lower than an opened one is a connection error; a
/// response may ask the client to stop sending its request (RST_STREAM NO_ERROR after the end).
final class HTTP2LifecycleCodecTests: XCTestCase {
    /// HEADERS with literal fields (never indexed, no Huffman), END_HEADERS.
    private func headers(_ stream: UInt32, _ fields: [(String, String)], endStream: Bool) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x10)
            block.append(UInt8(name.utf8.count))
            block += Array(name.utf8)
            block.append(UInt8(value.utf8.count))
            block += Array(value.utf8)
        }
        return frame(type: 1, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, payload: block)
    }

    private func request(_ stream: UInt32, endStream: Bool = true) -> [UInt8] {
        headers(stream, [(":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/")], endStream: endStream)
    }

    private func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    private let opening = Frame.magic + [0, 0, 0, 4, 0, 0, 0, 0, 0]

    private func server(_ peer: Peer) throws -> HTTP2Session {
        let s = HTTP2Session(role: .server, delegate: peer)
        try s.start()
        s.flush()
        peer.outbox.removeAll()
        return s
    }

    func testHaltStopsTheBufferBeingParsed() throws {
        let peer = Peer()
        let s = try server(peer)
        peer.onHeaders = { session, _, _ in session.halt() }
        try s.receive(opening + request(1) + request(3))
        XCTAssertEqual(peer.events, [.headers(stream: 1, endStream: true, isTrailer: false)])
        try s.receive(request(5))
        s.flush()
        XCTAssertEqual(peer.events.count, 1, "nothing after the halt")
        XCTAssertEqual(peer.outbox, [], "nothing written after the halt")
    }

    func testLowerStreamIdIsConnectionErrorProtocolError() throws {
        let peer = Peer()
        let s = try server(peer)
        try s.receive(opening + request(5))
        peer.outbox.removeAll()
        XCTAssertThrowsError(try s.receive(request(3))) { error in
            guard case HTTP2Error.connectionError(let code, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, HTTP2ErrorCode.protocolError)
        }
        let goAway = Frame.parse(peer.outbox).first { $0.type == FrameType.goAway }
        XCTAssertEqual(goAway.map { Frame.u32($0.payload, 0) }, 5, "last stream id")
        XCTAssertEqual(goAway.map { Frame.u32($0.payload, 4) }, HTTP2ErrorCode.protocolError)
        XCTAssertFalse(peer.events.contains(.headers(stream: 3, endStream: true, isTrailer: false)))
    }

    func testTrailersOnAnOpenLowerStreamAreNoError() throws {
        let peer = Peer()
        let s = try server(peer)
        try s.receive(opening + request(1, endStream: false) + request(3)
                      + headers(1, [("x-t", "1")], endStream: true))
        XCTAssertTrue(peer.events.contains(.headers(stream: 1, endStream: true, isTrailer: true)), "\(peer.events)")
    }

    func testResetAfterResponseSendsNoErrorAfterTheEnd() throws {
        let peer = Peer()
        let s = try server(peer)
        try s.receive(opening + request(1, endStream: false))
        peer.outbox.removeAll()
        s.resetAfterResponse(stream: 1)
        XCTAssertTrue(s.peerMaySend(stream: 1))
        try s.submitResponse(stream: 1, headers: [HTTP2Header(":status", "200")], hasBody: false)
        s.flush()
        let frames = Frame.parse(peer.outbox).filter { $0.stream == 1 }
        XCTAssertEqual(frames.map(\.type), [FrameType.headers, FrameType.rstStream])
        XCTAssertEqual(frames.first.map { $0.flags & 0x1 }, 0x1, "the response ends the stream")
        XCTAssertEqual(frames.last.map { Frame.u32($0.payload, 0) }, HTTP2ErrorCode.noError)
    }

    func testNoResetWhenTheRequestAlreadyEnded() throws {
        let peer = Peer()
        let s = try server(peer)
        try s.receive(opening + request(1))
        peer.outbox.removeAll()
        s.resetAfterResponse(stream: 1)
        XCTAssertFalse(s.peerMaySend(stream: 1))
        try s.submitResponse(stream: 1, headers: [HTTP2Header(":status", "200")], hasBody: false)
        s.flush()
        XCTAssertEqual(Frame.parse(peer.outbox).filter { $0.stream == 1 }.map(\.type), [FrameType.headers])
    }
}
