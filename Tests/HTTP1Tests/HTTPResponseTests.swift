import XCTest
@testable import HTTP1

final class HTTPResponseTests: XCTestCase {
    func testSwitchingProtocolsSerialization() {
        let head = HTTPResponseHead(status: 101, headers: [
            ("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"), ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
        ])
        XCTAssertEqual(String(decoding: head.serialized(), as: UTF8.self),
                       "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                       + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
    }

    func testForbiddenWithRepeatedHeaders() {
        var headers = HTTPHeaders()
        headers.add("X-Accepted-Stream-Protocol-Versions", "v4.channel.k8s.io")
        headers.add("X-Accepted-Stream-Protocol-Versions", "channel.k8s.io")
        headers.add("Content-Length", "0")
        XCTAssertEqual(HTTPResponseHead(status: 403, headers: headers).serialized(), Array((
            "HTTP/1.1 403 Forbidden\r\nX-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io\r\n"
            + "X-Accepted-Stream-Protocol-Versions: channel.k8s.io\r\nContent-Length: 0\r\n\r\n").utf8))
    }

    func testReasonPhrases() {
        XCTAssertEqual(HTTPResponseHead(status: 400).serialized(), Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
        XCTAssertEqual(HTTPResponseHead(status: 599).serialized(),
                       Array("HTTP/1.1 599 status code 599\r\n\r\n".utf8))
        XCTAssertEqual(HTTPResponseHead(status: 200, reason: "Fine", version: .http10).serialized(),
                       Array("HTTP/1.0 200 Fine\r\n\r\n".utf8))
        XCTAssertEqual(HTTPResponseHead.reasonPhrase(431), "Request Header Fields Too Large")
        XCTAssertEqual(HTTPResponseHead.reasonPhrase(505), "HTTP Version Not Supported")
        XCTAssertEqual(HTTPResponseHead.reasonPhrase(405), "Method Not Allowed")
    }

    func testSerializationCannotInjectLines() {
        let head = HTTPResponseHead(status: 400, headers: [("X-Msg", "a\r\nSet-Cookie: x")])
        XCTAssertEqual(String(decoding: head.serialized(), as: UTF8.self),
                       "HTTP/1.1 400 Bad Request\r\nX-Msg: a  Set-Cookie: x\r\n\r\n")
    }

    func testRequestSerialization() {
        let head = HTTPRequestHead(method: "POST", target: "/exec/ns/pod/c?command=ls&output=1", headers: [
            ("Host", "node:10250"), ("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
        ])
        XCTAssertEqual(String(decoding: head.serialized(), as: UTF8.self),
                       "POST /exec/ns/pod/c?command=ls&output=1 HTTP/1.1\r\nHost: node:10250\r\n"
                       + "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n")
        var parser = HTTPRequestParser()
        XCTAssertEqual(parser.feed(head.serialized()), .head(head, consumed: head.serialized().count))
    }

    // MARK: response parser

    private let upgradeAnswer = Array((
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n").utf8)
    private let h2Settings: [UInt8] = [0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]

    func testResponseEverySplitPoint() {
        let expected = HTTPResponseHead(status: 101, headers: [("Connection", "Upgrade"), ("Upgrade", "h2c")])
        let bytes = upgradeAnswer + h2Settings
        for split in 0...bytes.count {
            var parser = HTTPResponseParser()
            let first = parser.feed(Array(bytes[..<split]))
            if split >= upgradeAnswer.count {
                XCTAssertEqual(first, .head(expected, consumed: upgradeAnswer.count), "split \(split)")
            } else {
                XCTAssertEqual(first, .needMore, "split \(split)")
                XCTAssertEqual(parser.feed(Array(bytes[split...])),
                               .head(expected, consumed: upgradeAnswer.count - split), "split \(split)")
            }
        }
    }

    func testResponseStatusLineForms() {
        var parser = HTTPResponseParser()
        XCTAssertEqual(parser.feed(Array("HTTP/1.1 200\r\n\r\n".utf8)),
                       .head(HTTPResponseHead(status: 200, reason: ""), consumed: 16))
        parser = HTTPResponseParser()
        XCTAssertEqual(parser.feed(Array("HTTP/1.0 403 \r\nContent-Length: 3\r\n\r\nabc".utf8)),
                       .head(HTTPResponseHead(status: 403, reason: "", version: .http10,
                                              headers: [("Content-Length", "3")]), consumed: 36))
        parser = HTTPResponseParser()
        XCTAssertEqual(parser.feed(Array("HTTP/1.1 500 Internal Server Error\n\n".utf8)),
                       .head(HTTPResponseHead(status: 500), consumed: 36))
    }

    func testMalformedResponses() {
        let cases: [(String, Int)] = [
            ("HTTP/1.1 20 OK\r\n\r\n", 400),
            ("HTTP/1.1 2000 OK\r\n\r\n", 400),
            ("HTTP/1.1 abc OK\r\n\r\n", 400),
            ("HTTP/1.1 099 OK\r\n\r\n", 400),
            ("HTTP/1.1  200 OK\r\n\r\n", 400),
            ("HTTP/1.1\r\n\r\n", 400),
            ("HTTP/1.1 200 O\u{1}K\r\n\r\n", 400),
            ("HTTP/2.0 200 OK\r\n\r\n", 505),
            ("ICY 200 OK\r\n\r\n", 400),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("HTTP/1.1 101 OK\r\nUpgrade: h2c\r\n folded\r\n\r\n", 400),
            ("HTTP/1.1 101 OK\rUpgrade: h2c\r\n\r\n", 400),
        ]
        for (text, expected) in cases {
            var parser = HTTPResponseParser()
            guard case .failure(let error) = parser.feed(Array(text.utf8)) else {
                XCTFail("accepted \(text.debugDescription)")
                continue
            }
            XCTAssertEqual(error.status, expected, text.debugDescription)
        }
    }
}
