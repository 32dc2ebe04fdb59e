import XCTest
@testable import HTTP1

final class HTTPRequestParserTests: XCTestCase {
    private let kubectlUpgrade = Array((
        "POST /api/v1/namespaces/default/pods/web-0/exec?command=date&stdout=true HTTP/1.1\r\n"
        + "Host: 10.0.0.1:6443\r\n"
        + "User-Agent: kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b\r\n"
        + "Content-Length: 0\r\n"
        + "Connection: Upgrade\r\n"
        + "Upgrade: SPDY/3.1\r\n"
        + "X-Stream-Protocol-Version: v5.channel.k8s.io\r\n"
        + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
        + "X-Stream-Protocol-Version:   channel.k8s.io  \r\n"
        + "\r\n").utf8)
    /// What a client sends right after its head, before the 101 arrives (SPDY SYN_STREAM bytes).
    private let trailing: [UInt8] = [0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x29]

    private var expectedHead: HTTPRequestHead {
        HTTPRequestHead(
            method: "POST", target: "/api/v1/namespaces/default/pods/web-0/exec?command=date&stdout=true",
            version: .http11,
            headers: HTTPHeaders([
                ("Host", "10.0.0.1:6443"),
                ("User-Agent", "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b"),
                ("Content-Length", "0"),
                ("Connection", "Upgrade"),
                ("Upgrade", "SPDY/3.1"),
                ("X-Stream-Protocol-Version", "v5.channel.k8s.io"),
                ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
                ("X-Stream-Protocol-Version", "channel.k8s.io"),
            ]))
    }

    func testParsesWholeHeadAndReportsConsumed() {
        var parser = HTTPRequestParser()
        let bytes = kubectlUpgrade + trailing
        XCTAssertEqual(parser.feed(bytes), .head(expectedHead, consumed: kubectlUpgrade.count))
    }

    func testEverySplitPointGivesSameHead() {
        let bytes = kubectlUpgrade + trailing
        for split in 0...bytes.count {
            var parser = HTTPRequestParser()
            let first = Array(bytes[..<split])
            let second = Array(bytes[split...])
            let step1 = parser.feed(first)
            if split >= kubectlUpgrade.count {
                XCTAssertEqual(step1, .head(expectedHead, consumed: kubectlUpgrade.count), "split \(split)")
            } else {
                XCTAssertEqual(step1, .needMore, "split \(split)")
                XCTAssertEqual(parser.feed(second), .head(expectedHead, consumed: kubectlUpgrade.count - split),
                               "split \(split)")
            }
        }
    }

    func testOneByteAtATime() {
        let bytes = kubectlUpgrade + trailing
        var parser = HTTPRequestParser()
        for index in 0..<kubectlUpgrade.count - 1 {
            XCTAssertEqual(parser.feed([bytes[index]]), .needMore, "byte \(index)")
        }
        XCTAssertEqual(parser.feed([bytes[kubectlUpgrade.count - 1]]), .head(expectedHead, consumed: 1))
    }

    func testBareLFLineEndsAccepted() {
        var parser = HTTPRequestParser()
        let head = Array("GET /healthz HTTP/1.1\nHost: gw\nAccept: */*\n\nXYZ".utf8)
        XCTAssertEqual(parser.feed(head),
                       .head(HTTPRequestHead(method: "GET", target: "/healthz",
                                             headers: [("Host", "gw"), ("Accept", "*/*")]),
                             consumed: head.count - 3))
    }

    func testMixedLineEnds() {
        var parser = HTTPRequestParser()
        let head = Array("GET / HTTP/1.0\r\nHost: gw\n\r\n".utf8)
        XCTAssertEqual(parser.feed(head), .head(HTTPRequestHead(method: "GET", target: "/", version: .http10,
                                                                headers: [("Host", "gw")]),
                                                consumed: head.count))
    }

    func testLeadingEmptyLinesIgnored() {
        var parser = HTTPRequestParser()
        let head = Array("\r\n\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n".utf8)
        XCTAssertEqual(parser.feed(head), .head(HTTPRequestHead(method: "GET", target: "/", headers: [("Host", "gw")]),
                                                consumed: head.count))
    }

    func testParserIsReusableForNextHead() {
        var parser = HTTPRequestParser()
        let one = Array("GET /a HTTP/1.1\r\nHost: gw\r\n\r\n".utf8)
        let two = Array("GET /b HTTP/1.1\r\nHost: gw\r\n\r\n".utf8)
        XCTAssertEqual(parser.feed(one + two), .head(HTTPRequestHead(method: "GET", target: "/a", headers: [("Host", "gw")]),
                                                     consumed: one.count))
        XCTAssertEqual(parser.feed(two), .head(HTTPRequestHead(method: "GET", target: "/b", headers: [("Host", "gw")]),
                                               consumed: two.count))
    }

    func testEmptyValueAndHTTP10WithoutHost() {
        var parser = HTTPRequestParser()
        let head = Array("GET / HTTP/1.0\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n".utf8)
        XCTAssertEqual(parser.feed(head), .head(HTTPRequestHead(method: "GET", target: "/", version: .http10,
                                                                headers: [("X-Empty", ""), ("X-Tab", "v")]),
                                                consumed: head.count))
    }

    func testRequireHostCanBeRelaxed() {
        var parser = HTTPRequestParser(limits: HTTPParseLimits(requireHost: false))
        let head = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        XCTAssertEqual(parser.feed(head), .head(HTTPRequestHead(method: "GET", target: "/"), consumed: head.count))
    }

    // MARK: malformed heads

    private func status(_ text: String, limits: HTTPParseLimits = .init(), file: StaticString = #filePath,
                        line: UInt = #line) -> Int? {
        var parser = HTTPRequestParser(limits: limits)
        switch parser.feed(Array(text.utf8)) {
        case .failure(let error):
            // Failure is sticky.
            XCTAssertEqual(parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)), .failure(error),
                           file: file, line: line)
            return error.status
        case .needMore: return 0
        case .head: return 200
        }
    }

    func testMalformedRequestLines() {
        let cases = [
            "GET /\r\nHost: a\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /a\u{7F}b HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /é HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / http/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
            "GET / HTTP/11.0\r\nHost: a\r\n\r\n",
            "GET / FOO/1.1\r\nHost: a\r\n\r\n",
            "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
        ]
        for text in cases { XCTAssertEqual(status(text), 400, text.debugDescription) }
    }

    func testMalformedHeaders() {
        let cases = [
            "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
            "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nBad Name: v\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a\u{0}b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\u{1}b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Del: a\u{7F}b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX\u{0}Name: v\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Bare: a\rb\r\n\r\n",
            "GET / HTTP/1.1\rHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ]
        for text in cases { XCTAssertEqual(status(text), 400, text.debugDescription) }
    }

    func testRepeatedIdenticalContentLengthAccepted() {
        XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 200)
    }

    func testUnsupportedVersions() {
        for version in ["HTTP/0.9", "HTTP/2.0", "HTTP/1.2", "HTTP/3.0"] {
            XCTAssertEqual(status("GET / \(version)\r\nHost: a\r\n\r\n"), 505, version)
        }
    }

    func testURILengthLimit() {
        let limits = HTTPParseLimits(maxURILength: 100)
        let exact = "/" + String(repeating: "a", count: 99)
        XCTAssertEqual(status("GET \(exact) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits), 200)
        XCTAssertEqual(status("GET \(exact)b HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits), 414)
        // An endless request line is cut off before its end arrives.
        XCTAssertEqual(status("GET /" + String(repeating: "a", count: 400), limits: limits), 414)
    }

    func testHeadSizeLimit() {
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n"
        let size = head.utf8.count
        XCTAssertEqual(status(head, limits: HTTPParseLimits(maxHeadBytes: size)), 200)
        XCTAssertEqual(status(head, limits: HTTPParseLimits(maxHeadBytes: size - 1)), 431)
        // Endless headers without an end are cut off at the limit.
        XCTAssertEqual(status("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 70000)), 431)
        // Leading empty lines count too.
        XCTAssertEqual(status(String(repeating: "\r\n", count: 40000)), 431)
    }

    func testHeaderCountLimit() {
        let limits = HTTPParseLimits(maxHeaderCount: 3)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\n\r\n", limits: limits), 200)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", limits: limits), 431)
    }

    func testIncompleteHeadNeedsMore() {
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\n"), 0)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0)
    }
}
