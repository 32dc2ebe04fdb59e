import XCTest
import ExecModel

final class ResizeDecoderTests: XCTestCase {
    func testClientGoStream() throws {
        var decoder = ResizeDecoder()
        let bytes = TerminalSize(width: 80, height: 24).encoded + TerminalSize(width: 120, height: 40).encoded
        XCTAssertEqual(try decoder.feed(bytes), [TerminalSize(width: 80, height: 24), TerminalSize(width: 120, height: 40)])
    }

    func testEverySplitPoint() throws {
        let bytes = Array(#" {"Width":80,"Height":24}"#.utf8) + Array("\r\n\t{\"height\": 50 , \"WIDTH\":200,\"x\":{\"y\":[1,\"}\"]}}\n".utf8)
        for split in 0...bytes.count {
            var decoder = ResizeDecoder()
            let sizes = try decoder.feed(Array(bytes[..<split])) + decoder.feed(Array(bytes[split...]))
            XCTAssertEqual(sizes, [TerminalSize(width: 80, height: 24), TerminalSize(width: 200, height: 50)], "split \(split)")
        }
        var decoder = ResizeDecoder()
        var sizes: [TerminalSize] = []
        for byte in bytes { sizes += try decoder.feed([byte]) }
        XCTAssertEqual(sizes.count, 2)
    }

    func testZeroAndMissingSizesIgnored() throws {
        var decoder = ResizeDecoder()
        XCTAssertEqual(try decoder.feed(Array(#"{"Width":0,"Height":24}{"Width":80}{}{"Width":80,"Height":null}"#.utf8)), [])
        XCTAssertEqual(try decoder.feed(Array(#"{"Width":1,"Height":1}"#.utf8)), [TerminalSize(width: 1, height: 1)])
    }

    func testGarbageThrows() {
        for text in ["hello", "[80,24]", "80", #"{"Width":"80","Height":24}"#, #"{"Width":-1,"Height":24}"#,
                     #"{"Width":70000,"Height":24}"#, #"{"Width":8.5,"Height":24}"#, #"{"Width":80,,}"#, "{]"] {
            var decoder = ResizeDecoder()
            XCTAssertThrowsError(try decoder.feed(Array(text.utf8)), text)
        }
    }

    func testOversizedObjectThrows() {
        var decoder = ResizeDecoder(maxBuffered: 64)
        XCTAssertThrowsError(try decoder.feed(Array(("{\"Width\":80," + String(repeating: " ", count: 100)).utf8)))
        var unbounded = ResizeDecoder(maxBuffered: 64)
        XCTAssertThrowsError(try unbounded.feed(Array(("{\"Pad\":\"" + String(repeating: "}", count: 100)).utf8)))
    }
}
