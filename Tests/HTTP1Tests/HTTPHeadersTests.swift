import XCTest
import HTTP1

final class HTTPHeadersTests: XCTestCase {
    func testCaseInsensitiveLookupKeepsOrder() {
        var headers = HTTPHeaders([("Connection", "close, Upgrade"), ("upgrade", "SPDY/3.1")])
        headers.add("X-Stream-Protocol-Version", "v4.channel.k8s.io")
        headers.add("x-stream-protocol-version", "v3.channel.k8s.io, ,channel.k8s.io")
        XCTAssertEqual(headers[first: "UPGRADE"], "SPDY/3.1")
        XCTAssertNil(headers[first: "Host"])
        XCTAssertTrue(headers.contains("connection"))
        XCTAssertFalse(headers.contains("Connectio"))
        XCTAssertEqual(headers.values("X-Stream-Protocol-Version"),
                       ["v4.channel.k8s.io", "v3.channel.k8s.io, ,channel.k8s.io"])
        XCTAssertEqual(headers.tokens("connection"), ["close", "upgrade"])
        XCTAssertEqual(headers.tokens("X-Stream-Protocol-Version"),
                       ["v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"])
        headers.remove("X-STREAM-PROTOCOL-VERSION")
        XCTAssertEqual(headers.pairs.map(\.name), ["Connection", "upgrade"])
        XCTAssertEqual(Array(headers).map(\.value), ["close, Upgrade", "SPDY/3.1"])
        headers.replaceOrAdd("CONNECTION", "Upgrade")
        XCTAssertEqual(headers.pairs.map(\.value), ["Upgrade", "SPDY/3.1"])
    }
}
