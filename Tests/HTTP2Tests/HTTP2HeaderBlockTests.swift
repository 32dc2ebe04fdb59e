import XCTest
@testable import HTTP2

/// The byte-level paths of the front door: a received block read as bytes, a prepared response.
final class HTTP2HeaderBlockTests: XCTestCase {
    /// Reads fields as bytes from the block, then lets the default make the `[HTTP2Header]`.
    final class BlockReader: HTTP2SessionDelegate {
        var paths: [String] = []
        var methods: [String] = []
        var headers: [[HTTP2Header]] = []
        var trailers = 0
        func http2Session(_ s: HTTP2Session, write bytes: UnsafeRawBufferPointer) {}
        func http2Session(_ s: HTTP2Session, didReceiveData bytes: UnsafeRawBufferPointer, stream: Int32) {}
        func http2Session(_ s: HTTP2Session, didReceiveHeaders headers: [HTTP2Header], stream: Int32,
                          endStream: Bool, isTrailer: Bool) {
            self.headers.append(headers)
        }
        func http2Session(_ s: HTTP2Session, didReceiveHeaderBlock block: HTTP2HeaderBlock, stream: Int32,
                          endStream: Bool, isTrailer: Bool) {
            if isTrailer { trailers += 1 }
            paths.append(block.first(":path").map { String(decoding: $0, as: UTF8.self) } ?? "-")
            methods.append(block.first(":method").map { String(decoding: $0, as: UTF8.self) } ?? "-")
            headers.append(block.headers)
        }
    }

    func testBlockFieldsAsBytesAndAsHeadersOverSeveralStreams() throws {
        let p = try Pair()
        let reader = BlockReader()
        p.server.delegate = reader
        let long = String(repeating: "v", count: 3000)
        _ = try p.client.submitRequest(headers: request("GET", path: "/healthz"), hasBody: false)
        let second = try p.client.submitRequest(headers: request(extra: [HTTP2Header("X-Long", long)]), hasBody: true)
        try p.client.submitTrailers(stream: second, headers: [HTTP2Header("x-trailer", "t")])
        p.client.flush()
        try p.server.receive(p.c.take())
        XCTAssertEqual(reader.methods, ["GET", "POST", "-"])
        XCTAssertEqual(reader.paths, ["/healthz", "/exec/ns/pod/c?command=date&output=1", "-"])
        XCTAssertEqual(reader.trailers, 1)
        XCTAssertEqual(reader.headers.count, 3)
        XCTAssertEqual(reader.headers[0].first(":path"), "/healthz")
        XCTAssertEqual(reader.headers[1].first("x-long"), long, "a block larger than the arena's first size")
        XCTAssertEqual(reader.headers[1].first(":method"), "POST")
        XCTAssertEqual(reader.headers[2], [HTTP2Header("x-trailer", "t")])
    }

    func testDefaultDeliversTheSameHeadersAsBefore() throws {
        let p = try Pair()
        _ = try p.client.submitRequest(headers: request("GET", path: "/x", extra: [HTTP2Header("A", "1"), HTTP2Header("a", "2")]),
                                       hasBody: false)
        try p.pump()
        XCTAssertEqual(p.s.headers[1]?.first, request("GET", path: "/x", extra: [HTTP2Header("a", "1"), HTTP2Header("a", "2")]))
    }

    /// A prepared block goes on the wire exactly as the same fields given as `[HTTP2Header]`.
    func testPreparedResponseIsByteIdenticalToTheArrayForm() throws {
        let fields = [HTTP2Header(":status", "200"), HTTP2Header("Content-Type", "text/plain; charset=utf-8"),
                      HTTP2Header("content-length", "2")]
        let prepared = HTTP2PreparedHeaders(fields)
        var wire: [[UInt8]] = []
        for usePrepared in [false, true] {
            let p = try Pair()
            try p.pump()
            _ = try p.client.submitRequest(headers: request("GET", path: "/healthz"), hasBody: false)
            p.client.flush()
            try p.server.receive(p.c.take())
            XCTAssertEqual(p.s.take(), [], "nothing but the response goes out")
            if usePrepared {
                try bytes("ok").withUnsafeBytes { try p.server.submitResponse(stream: 1, headers: prepared, body: $0) }
            } else {
                try p.server.submitResponse(stream: 1, headers: fields, hasBody: true)
                try p.server.sendData(bytes("ok"), stream: 1)
                try p.server.endStream(1)
            }
            p.server.flush()
            wire.append(p.s.take())
            try p.client.receive(wire.last!)
            XCTAssertEqual(p.c.bodies[1], bytes("ok"))
            XCTAssertEqual(p.c.headers[1]?.first?.first("content-type"), "text/plain; charset=utf-8")
            XCTAssertEqual(p.c.events.last, .close(1, 0))
        }
        XCTAssertEqual(wire[0], wire[1])
    }
}
