@testable import ExecBridge
import SPDY
import XCTest

/// The transcript line format and the tracer's decoders, byte for byte.
final class TranscriptRecordTests: XCTestCase {
    func testLineRoundTrip() throws {
        let record = TraceRecord(.toClient, "spdy", "DATA", [
            .init("stream", "5"), .init("flags", "FIN"), .init("len", "9"),
            .init("data", [0x68, 0x69, 0x0a, 0x0d, 0x09, 0x22, 0x5c, 0x00, 0xff]),
        ])
        let line = record.description
        XCTAssertEqual(line, #"< spdy DATA stream=5 flags=FIN len=9 data="hi\n\r\t\"\\\x00\xff""#)
        XCTAssertEqual(TraceRecord(line: Substring(line)), record)

        let headers = TraceRecord(.toServer, "h2", "HEADERS", [.init("h::path", "/a b?c=\"d\""), .init("h:x", "")])
        XCTAssertEqual(headers.description, #"> h2 HEADERS h::path="/a b?c=\"d\"" h:x="""#)
        XCTAssertEqual(TraceRecord(line: Substring(headers.description)), headers)
        XCTAssertNil(TraceRecord(line: "# a comment"))
        XCTAssertNil(TraceRecord(line: "> spdy DATA data=\"unterminated"))
    }

    func testLongPayloadsKeepAPrefix() {
        let long = [UInt8](repeating: 0x61, count: TraceRecord.fullPayloadLimit + 1)
        let fields = TraceRecord.payloadFields(long, length: long.count)
        XCTAssertEqual(fields.map(\.key), ["len", "head"])
        XCTAssertEqual(fields[1].value.count, TraceRecord.payloadPrefix)
        XCTAssertEqual(TraceRecord.payloadFields([], length: 0).map(\.key), ["len"])
    }

    func testSPDYDecoderInflatesHeadersAndJoinsSplitData() throws {
        let encoder = SPDYFrameEncoder()
        var bytes = try encoder.encode(.synStream(streamID: 1, headers: ["streamtype": "error"]))
        bytes += SPDYFrameEncoder.dataHeader(streamID: 3, length: 5, fin: true).bytes + Array("hello".utf8)
        bytes += try encoder.encode(.goAway(lastGoodStreamID: 3, status: .ok))
        let decoder = SPDYTraceDecoder(direction: .toServer)
        var records: [String] = []
        // One byte at a time: records do not depend on how the bytes were read.
        for byte in bytes { [byte].withUnsafeBytes { decoder.decode($0) { records.append($0.description) } } }
        XCTAssertEqual(records, [
            "> spdy SYN_STREAM stream=1 flags=- pri=0 h:streamtype=error",
            #"> spdy DATA stream=3 flags=FIN len=5 data="hello""#,
            "> spdy GOAWAY last=3 status=OK",
        ])
    }

    func testHTTP2DecoderFrames() {
        // SETTINGS (INITIAL_WINDOW_SIZE=65535), HEADERS with HPACK static entries
        // (:method POST = 0x83, :path / = 0x84), padded DATA "hi" with END_STREAM, RST_STREAM CANCEL.
        var bytes = HTTP2TraceDecoder.preface
        bytes += [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0xff, 0xff]
        bytes += [0, 0, 2, 1, 4, 0, 0, 0, 1, 0x83, 0x84]
        bytes += [0, 0, 5, 0, 0x9, 0, 0, 0, 1, 2, 0x68, 0x69, 0, 0]
        bytes += [0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 8]
        let decoder = HTTP2TraceDecoder(direction: .toServer, expectPreface: true)
        var records: [String] = []
        for byte in bytes { [byte].withUnsafeBytes { decoder.decode($0) { records.append($0.description) } } }
        XCTAssertEqual(records, [
            "> h2 PREFACE",
            "> h2 SETTINGS flags=- INITIAL_WINDOW_SIZE=65535",
            "> h2 HEADERS stream=1 flags=END_HEADERS h::method=POST h::path=/",
            #"> h2 DATA stream=1 flags=END_STREAM len=2 data="hi""#,
            "> h2 RST_STREAM stream=1 error=CANCEL",
        ])
    }

    func testServerViewIgnoresChunkingAndTiming() {
        func r(_ line: String) -> TraceRecord { TraceRecord(line: Substring(line))! }
        let a = [r(#"< h2 DATA stream=3 flags=- len=2 data="he""#), r("< h2 PING flags=ACK opaque=00"),
                 r(#"< h2 DATA stream=3 flags=END_STREAM len=3 data="llo""#), r("< h2 WINDOW_UPDATE stream=0 increment=5"),
                 r("< h2 GOAWAY last=3 error=NO_ERROR")]
        let b = [r(#"< h2 DATA stream=3 flags=- len=5 data="hello""#), r("< h2 DATA stream=3 flags=END_STREAM len=0")]
        XCTAssertEqual(TranscriptNormalizer.serverView(a), TranscriptNormalizer.serverView(b))
        XCTAssertEqual(TranscriptNormalizer.serverView(a), ["3": [#"DATA len=5 data="hello""#, "END"]])
    }
}
