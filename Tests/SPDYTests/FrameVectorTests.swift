import XCTest
@testable import SPDY

final class FrameVectorTests: XCTestCase {
    func testDictionaryIsTheSPDY3Dictionary() {
        XCTAssertEqual(spdy3HeaderDictionary.count, 1423)
        XCTAssertEqual(adler32(spdy3HeaderDictionary), 0xe3c6_a7c2)
    }

    func testSpdystreamSynStreamsDecodeOnOneDecompressor() {
        let reader = FrameReader()
        XCTAssertEqual(reader.read(Vectors.synStream1Error), [
            .control(.synStream(streamID: 1, headers: ["streamtype": "error"])),
        ])
        // The second block only makes sense to the same inflate stream.
        XCTAssertEqual(reader.read(Vectors.synStream3Stdout), [
            .control(.synStream(streamID: 3, headers: ["streamtype": "stdout"])),
        ])
    }

    func testSpdystreamEmptySynReplyDecodes() {
        XCTAssertEqual(decodeAll(Vectors.synReply1Empty), [.control(.synReply(streamID: 1, headers: []))])
    }

    func testSpdystreamFixedFramesDecode() {
        XCTAssertEqual(decodeAll(Vectors.dataFin1), [.begin(1, 0, true), .end(1, true)])
        XCTAssertEqual(decodeAll(Vectors.rstCancel1), [.control(.rstStream(streamID: 1, status: .cancel))])
        XCTAssertEqual(decodeAll(Vectors.ping1), [.control(.ping(id: 1))])
        XCTAssertEqual(decodeAll(Vectors.goAway0OK), [.control(.goAway(lastGoodStreamID: 0, status: .ok))])
        XCTAssertEqual(decodeAll(Vectors.windowUpdate0), [.control(.windowUpdate(streamID: 0, delta: 65536))])
    }

    func testFixedFramesEncodeByteExact() throws {
        let e = SPDYFrameEncoder()
        XCTAssertEqual(try e.encode(.rstStream(streamID: 1, status: .cancel)), Vectors.rstCancel1)
        XCTAssertEqual(try e.encode(.ping(id: 1)), Vectors.ping1)
        XCTAssertEqual(try e.encode(.goAway(lastGoodStreamID: 0, status: .ok)), Vectors.goAway0OK)
        XCTAssertEqual(try e.encode(.windowUpdate(streamID: 0, delta: 65536)), Vectors.windowUpdate0)
        XCTAssertEqual(SPDYFrameEncoder.dataHeader(streamID: 1, length: 0, fin: true).bytes, Vectors.dataFin1)
        XCTAssertEqual(SPDYDataFrameHeader(streamID: 0x7fff_ffff, length: 0x12_3456, fin: false).bytes,
                       hex("7f ff ff ff 00 12 34 56"))
        XCTAssertEqual(try e.encode(.settings([.initialWindowSize(1 << 20), .maxConcurrentStreams(7)])),
                       hex("80 03 00 04 00 00 00 14 00 00 00 02 00 00 00 07 00 10 00 00 00 00 00 04 00 00 00 07"))
    }

    func testCompressedBlocksCarryTheDictionaryIDAndSyncFlush() throws {
        let e = SPDYFrameEncoder()
        let first = try e.encode(.synStream(streamID: 1, headers: ["streamtype": "error"]))
        let second = try e.encode(.synStream(streamID: 3, headers: ["streamtype": "stdout"]))
        let reply = try SPDYFrameEncoder().encode(.synReply(streamID: 1, headers: []))
        XCTAssertEqual(Array(first[18..<24]), hex("78 f9 e3 c6 a7 c2"))
        XCTAssertEqual(Array(reply[12..<18]), hex("78 f9 e3 c6 a7 c2"))
        XCTAssertNotEqual(second[18], 0x78, "only the first block carries the zlib header")
        for frame in [first, second, reply] {
            XCTAssertEqual(Array(frame.suffix(4)), hex("00 00 ff ff"))
            XCTAssertEqual(frame.count - 8, Int(frame[5]) << 16 | Int(frame[6]) << 8 | Int(frame[7]))
        }
        XCTAssertEqual(Array(first[..<5]), hex("80 03 00 01 00"))
        XCTAssertEqual(Array(first[8..<18]), hex("00 00 00 01 00 00 00 00 00 00"))
        XCTAssertEqual(decodeAll(first + second), [
            .control(.synStream(streamID: 1, headers: ["streamtype": "error"])),
            .control(.synStream(streamID: 3, headers: ["streamtype": "stdout"])),
        ])
    }

    /// The compressor keeps a 2 KiB window and a small hash (was 256 KiB of zlib state per connection), yet
    /// announces the usual zlib header and stays readable by a standard inflater across many blocks, including
    /// blocks far larger than its window.
    func testHeaderCompressorIsSmallAndStaysDecodable() throws {
        let e = SPDYFrameEncoder()
        var frames: [UInt8] = []
        var expected: [FrameRecorder.Event] = []
        for i in 0..<200 {
            let headers: SPDYHeaders = ["streamtype": i % 2 == 0 ? "stdout" : "stderr",
                                        "x-request-id": String(repeating: "r\(i)-", count: 40),
                                        "x-long": String(repeating: "abcdefghij\(i % 7)", count: 400)]
            let id = UInt32(2 * i + 1)
            frames += try e.encode(.synStream(streamID: id, headers: headers))
            expected.append(.control(.synStream(streamID: id, headers: headers)))
        }
        XCTAssertEqual(Array(frames[18..<24]), hex("78 f9 e3 c6 a7 c2"))
        XCTAssertEqual(decodeAll(frames), expected)
        XCTAssertGreaterThan(e.compressor.allocatedBytes, 0)
        XCTAssertLessThanOrEqual(e.compressor.allocatedBytes, 20 * 1024)
    }

    func testRoundTripOfEveryFrameType() throws {
        let frames: [SPDYControlFrame] = [
            .synStream(streamID: 5, associatedStreamID: 3, priority: 7, slot: 9, fin: true, unidirectional: true,
                       headers: ["streamtype": "stdin", "x-multi": "a", "X-Multi": "b", "empty": ""]),
            .synStream(streamID: 7, headers: []),
            .synReply(streamID: 5, fin: true, headers: ["x-stream-protocol-version": "v4.channel.k8s.io"]),
            .headers(streamID: 5, fin: false, headers: ["status": "ok"]),
            .rstStream(streamID: 0x7fff_ffff, status: .frameTooLarge),
            .rstStream(streamID: 9, status: SPDYRstStatus(rawValue: 99)),
            .settings(clearPrevious: true, [SPDYSetting(id: 4, value: 100, flags: 1), .initialWindowSize(1 << 20)]),
            .settings([]),
            .ping(id: 0xffff_fffe),
            .goAway(lastGoodStreamID: 41, status: .internalError),
            .windowUpdate(streamID: 3, delta: 0x7fff_ffff),
        ]
        let e = SPDYFrameEncoder()
        var wire: [UInt8] = []
        for f in frames { try e.encode(f, into: &wire) }
        wire += Raw.data(5, Array("hello".utf8), fin: true)
        var expected = frames.map { FrameRecorder.Event.control($0) }
        expected += [.begin(5, 5, true), .data(5, Array("hello".utf8)), .end(5, true)]
        XCTAssertEqual(decodeAll(wire), expected)
    }

    func testRepeatedNamesTravelNULJoinedAndComeBackInOrder() throws {
        let block = try SPDYFrameEncoder().encode(.headers(streamID: 1, headers: ["a": "1", "b": "2", "A": "3"]))
        guard case .control(.headers(_, _, let headers))? = decodeAll(block).first else { return XCTFail() }
        XCTAssertEqual(headers.fields.map(\.name), ["a", "a", "b"])
        XCTAssertEqual(headers.values("A"), ["1", "3"])
        XCTAssertEqual(headers["B"], "2")
    }

    func testInvalidOutboundHeadersThrowWithoutTouchingTheCompressor() throws {
        let e = SPDYFrameEncoder()
        XCTAssertThrowsError(try e.encode(.synStream(streamID: 1, headers: ["Connection": "close"])))
        XCTAssertThrowsError(try e.encode(.synStream(streamID: 1, headers: ["": "x"])))
        XCTAssertThrowsError(try e.encode(.synStream(streamID: 1, headers: ["a": "x\u{0}y"])))
        XCTAssertThrowsError(try e.encode(.synStream(streamID: 0, headers: ["a": "b"])))
        XCTAssertThrowsError(try e.encode(.rstStream(streamID: 1, status: SPDYRstStatus(rawValue: 0))))
        XCTAssertThrowsError(try e.encode(.ping(id: 0)))
        XCTAssertThrowsError(try e.encode(.windowUpdate(streamID: 1, delta: 0)))
        // Still the first block of the stream: the refused frames compressed nothing.
        let frame = try e.encode(.synStream(streamID: 1, headers: ["streamtype": "error"]))
        XCTAssertEqual(Array(frame[18..<24]), hex("78 f9 e3 c6 a7 c2"))
        XCTAssertEqual(decodeAll(frame), [.control(.synStream(streamID: 1, headers: ["streamtype": "error"]))])
    }

    func testHeadersLookupIsCaseInsensitive() {
        var h: SPDYHeaders = ["X-Stream-Protocol-Version": "v4.channel.k8s.io"]
        h.add("x-stream-protocol-version", "v3.channel.k8s.io")
        XCTAssertEqual(h["x-STREAM-protocol-version"], "v4.channel.k8s.io")
        XCTAssertEqual(h.values("X-Stream-Protocol-Version"), ["v4.channel.k8s.io", "v3.channel.k8s.io"])
        XCTAssertEqual(h.fields.first?.name, "x-stream-protocol-version")
        h.set("STREAMTYPE", "error")
        XCTAssertEqual(h["streamtype"], "error")
        h.remove("X-Stream-Protocol-Version")
        XCTAssertEqual(h.count, 1)
        let fromArray: SPDYHeaders = [("a", "1"), ("a", "2")]
        XCTAssertEqual(fromArray.values("a"), ["1", "2"])
    }
}
