import XCTest
@testable import SPDY

final class InputLimitTests: XCTestCase {
    /// A SYN_STREAM whose block is a few KiB on the wire and inflates to `inflated` bytes.
    private func bomb(inflated: Int) throws -> [UInt8] {
        var raw = Raw.be32(1) + Raw.be32(1) + Array("x".utf8) + Raw.be32(UInt32(inflated - 13))
        raw += Array(repeating: UInt8(ascii: "a"), count: inflated - 13)
        var block: [UInt8] = []
        try SPDYHeaderCompressor().compress(raw, appendingTo: &block)
        XCTAssertLessThan(block.count, 4096)
        return Raw.control(type: 1, body: Raw.be32(1) + Raw.be32(0) + [0, 0] + block)
    }

    func testZlibBombIsRejectedWithGoAway() throws {
        let h = SessionHarness(role: .server)
        h.receive(raw: try bomb(inflated: 1 << 20))
        XCTAssertEqual(h.events(), [.fail(.headerBlockTooLarge(limit: 256 * 1024))])
        XCTAssertEqual(h.recorder.out, hex("80 03 00 07 00 00 00 08 00 00 00 00 00 00 00 01"))
        XCTAssertTrue(h.session.hasFailed)
        // A dead session ignores further input and refuses to send.
        h.receive(raw: Vectors.ping1)
        XCTAssertTrue(h.recorder.take().count == 16 && h.events().isEmpty)
        XCTAssertThrowsError(try h.session.openStream(headers: [:])) { XCTAssertEqual($0 as? SPDYError, .sessionFailed) }
    }

    func testHeaderBlockExactlyAtTheBoundIsAccepted() throws {
        var limits = SPDYLimits()
        limits.maxHeaderBlockSize = 4096
        let reader = FrameReader(limits: limits)
        let events = reader.read(try bomb(inflated: 4096))
        guard case .control(.synStream(1, _, _, _, _, _, let headers))? = events.first else {
            return XCTFail("\(events)")
        }
        XCTAssertEqual(headers["x"]?.utf8.count, 4096 - 13)
        XCTAssertEqual(FrameReader(limits: limits).read(try bomb(inflated: 4097)),
                       [.fail(.headerBlockTooLarge(limit: 4096), 0)])
    }

    func testOversizeDataResetsOnlyThatStream() throws {
        let h = SessionHarness(role: .server)
        h.recorder.onOpen = { s, id, _ in try! s.reply(to: id) }
        h.receive(.synStream(streamID: 1, headers: ["streamtype": "stdin"]),
                  .synStream(streamID: 3, headers: ["streamtype": "stdout"]))
        _ = h.written()
        _ = h.events()
        let big = 1024 * 1024 + 1
        var input = SPDYDataFrameHeader(streamID: 1, length: big, fin: false).bytes
        input += Array(repeating: 0x55, count: big)
        input += Raw.data(3, Array("still alive".utf8))
        // Split so the skipped payload straddles reads.
        h.receive(raw: Array(input[..<1000]))
        h.receive(raw: Array(input[1000...]))
        XCTAssertEqual(h.events(), [.reset(1, .frameTooLarge, byPeer: false), .data(3, Array("still alive".utf8))])
        let written = h.written()
        XCTAssertEqual(written.first, .control(.rstStream(streamID: 1, status: .frameTooLarge)))
        // Nothing else: this peer never used flow control, so no window is credited back.
        XCTAssertEqual(written.dropFirst().map { $0 }, [])
        XCTAssertNil(h.session.streamState(1))
        XCTAssertNotNil(h.session.streamState(3))
        XCTAssertFalse(h.session.hasFailed)
    }

    func testOversizeControlFrameIsAConnectionError() {
        let h = SessionHarness(role: .server)
        h.receive(raw: Raw.controlHeader(type: 4, length: 256 * 1024 + 1))
        XCTAssertEqual(h.events(), [.fail(.controlFrameTooLarge(length: 256 * 1024 + 1, limit: 256 * 1024))])
        XCTAssertEqual(h.written(), [.control(.goAway(lastGoodStreamID: 0, status: .protocolError))])
    }

    func testUnknownControlTypesAreConnectionErrors() {
        for type: UInt16 in [5, 10, 0, 11, 0xffff] {
            let h = SessionHarness(role: .server)
            h.receive(raw: Raw.control(type: type, body: Raw.be32(0)))
            XCTAssertEqual(h.events(), [.fail(.unknownControlFrame(type: type))], "type \(type)")
            XCTAssertEqual(h.written(), [.control(.goAway(lastGoodStreamID: 0, status: .protocolError))])
        }
    }

    func testUnsupportedVersionRefusesTheStreamThenGoesAway() {
        let h = SessionHarness(role: .server)
        h.receive(raw: Raw.control(type: 1, version: 2, body: Raw.be32(1) + Raw.be32(0) + [0, 0, 0, 0]))
        XCTAssertEqual(h.events(), [.fail(.unsupportedVersion(2))])
        XCTAssertEqual(h.written(), [
            .control(.rstStream(streamID: 1, status: .unsupportedVersion)),
            .control(.goAway(lastGoodStreamID: 0, status: .protocolError)),
        ])
        let other = SessionHarness(role: .server)
        other.receive(raw: Raw.control(type: 6, version: 4, body: Raw.be32(1)))
        XCTAssertEqual(other.events(), [.fail(.unsupportedVersion(4))])
        XCTAssertEqual(other.written(), [.control(.goAway(lastGoodStreamID: 0, status: .protocolError))])
    }

    func testMalformedFixedFramesAreConnectionErrors() {
        let bad: [[UInt8]] = [
            Raw.control(type: 6, body: [0, 0, 1]),  // PING of 3 bytes
            Raw.control(type: 3, body: Raw.be32(0) + Raw.be32(5)),  // RST_STREAM on stream 0
            Raw.control(type: 7, body: Raw.be32(0)),  // GOAWAY without status
            Raw.control(type: 4, body: Raw.be32(2) + Raw.be32(7) + Raw.be32(1)),  // SETTINGS count mismatch
            Raw.data(0, [1, 2, 3]),  // DATA on stream 0
            Raw.control(type: 1, body: Raw.be32(1)),  // SYN_STREAM too short
        ]
        for frame in bad {
            let h = SessionHarness(role: .server)
            h.receive(raw: frame)
            XCTAssertTrue(h.session.hasFailed, hexString(frame))
            XCTAssertEqual(h.written(), [.control(.goAway(lastGoodStreamID: 0, status: .protocolError))])
        }
    }

    func testCorruptCompressedBlockIsAConnectionError() {
        let h = SessionHarness(role: .server)
        h.receive(raw: Raw.control(type: 1, body: Raw.be32(1) + Raw.be32(0) + [0, 0] + hex("78 f9 e3 c6 a7 c2 ff ff ff ff")))
        XCTAssertTrue(h.session.hasFailed)
        XCTAssertEqual(h.written(), [.control(.goAway(lastGoodStreamID: 0, status: .protocolError))])
        // A zlib stream primed with another dictionary.
        let other = SessionHarness(role: .server)
        other.receive(raw: Raw.control(type: 1, body: Raw.be32(1) + Raw.be32(0) + [0, 0] + hex("78 f9 00 00 00 01 00 00 00 ff ff")))
        guard case .fail(.compression)? = other.events().first else { return XCTFail("expected a compression error") }
    }

    func testMalformedHeaderBlockIsAStreamErrorAndKeepsCompressionInStep() throws {
        let h = SessionHarness(role: .server)
        // A block that inflates fine but claims 5 pairs and holds none.
        var block: [UInt8] = []
        try h.peerEncoder.compressor.compress(Raw.be32(5), appendingTo: &block)
        h.receive(raw: Raw.control(type: 1, body: Raw.be32(1) + Raw.be32(0) + [0, 0] + block))
        h.receive(.synStream(streamID: 3, headers: ["streamtype": "stdout"]))
        XCTAssertEqual(h.events(), [.open(3, ["streamtype": "stdout"], false)])
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 1, status: .protocolError))])
    }
}
