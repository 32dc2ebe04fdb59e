import XCTest
@testable import HTTP2

final class HTTP2FlowControlTests: XCTestCase {
    func testUnconsumedDataHoldsSenderAtTheStreamWindow() throws {
        let p = try Pair()
        p.s.autoConsume = false
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        let payload = [UInt8](repeating: 0x5a, count: 100 * 1024)
        let mayContinue = try p.client.sendData(payload, stream: id)
        XCTAssertFalse(mayContinue, "100 KiB is above the 64 KiB high-water mark")
        XCTAssertEqual(p.client.pendingBytes(stream: id), 100 * 1024)
        try p.pump()
        XCTAssertEqual(p.s.received[1], 65_535)
        XCTAssertEqual(p.client.pendingBytes(stream: id), 100 * 1024 - 65_535)
        XCTAssertFalse(p.c.events.contains(.canSendMore(1)))

        // Still nothing moves without consume.
        p.client.flush()
        XCTAssertTrue(p.c.outbox.isEmpty)

        p.server.consume(stream: id, bytes: 65_535)
        try p.pump()
        XCTAssertEqual(p.s.received[1], 100 * 1024)
        XCTAssertEqual(p.client.pendingBytes(stream: id), 0)
        XCTAssertEqual(p.c.events, [.canSendMore(1)])
        XCTAssertEqual(p.s.bodies[1], payload)
    }

    func testPartialConsumeBelowHalfWindowSendsNoUpdate() throws {
        let p = try Pair()
        p.s.autoConsume = false
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData([UInt8](repeating: 1, count: 70_000), stream: id)
        try p.pump()
        XCTAssertEqual(p.s.received[1], 65_535)
        p.server.consume(stream: id, bytes: 1_000)
        p.server.flush()
        XCTAssertTrue(p.s.outbox.isEmpty, "nghttp2 batches window updates until half the window is consumed")
        p.server.consume(stream: id, bytes: 40_000)
        try p.pump()
        XCTAssertEqual(p.s.received[1], 70_000)
        XCTAssertEqual(p.client.pendingBytes(stream: id), 0)
    }

    func testPendingBytesAndWaterMarks() throws {
        let settings = HTTP2Settings(sendHighWater: 32 * 1024, sendLowWater: 8 * 1024)
        let p = try Pair(client: settings)
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        XCTAssertEqual(p.client.pendingBytes(stream: id), 0)
        XCTAssertTrue(try p.client.sendData([UInt8](repeating: 7, count: 1000), stream: id))
        XCTAssertEqual(p.client.pendingBytes(stream: id), 1000)
        XCTAssertTrue(try p.client.sendData([UInt8](repeating: 7, count: 30_000), stream: id))
        XCTAssertFalse(try p.client.sendData([UInt8](repeating: 7, count: 2_000), stream: id))
        XCTAssertEqual(p.client.pendingBytes(stream: id), 33_000)
        XCTAssertEqual(p.client.pendingBytes(stream: 99), 0)
        try p.pump()
        XCTAssertEqual(p.client.pendingBytes(stream: id), 0)
        XCTAssertEqual(p.c.events, [.canSendMore(1)], "one notice per stop")
        XCTAssertEqual(p.s.received[1], 33_000)
    }

    func testCloseCreditsUnconsumedBytesToTheConnection() throws {
        // Connection window = stream window: a stream that dies unconsumed must give its share back,
        // or the next stream could not send at all.
        let settings = HTTP2Settings(connectionWindowSize: 65_535)
        let p = try Pair(server: settings)
        p.s.autoConsume = false
        let first = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData([UInt8](repeating: 1, count: 65_535), stream: first)
        try p.pump()
        XCTAssertEqual(p.s.received[first], 65_535)
        p.server.resetStream(first, errorCode: HTTP2ErrorCode.cancel)
        try p.pump()
        let second = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData([UInt8](repeating: 2, count: 40_000), stream: second)
        try p.pump()
        XCTAssertEqual(p.s.received[second], 40_000)
    }

    /// A stream whose bytes are never consumed holds its own window only: with the connection
    /// window as small as one stream's, a second open stream still gets all its bytes through
    /// (the connection window is credited as DATA arrives).
    func testUnconsumedStreamDoesNotHoldTheConnectionWindow() throws {
        let settings = HTTP2Settings(connectionWindowSize: 65_535)
        let p = try Pair(server: settings)
        p.s.autoConsume = false
        let stalled = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData([UInt8](repeating: 1, count: 65_535), stream: stalled)
        try p.pump()
        XCTAssertEqual(p.s.received[stalled], 65_535)
        let other = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.client.sendData([UInt8](repeating: 2, count: 60_000), stream: other)
        try p.pump()
        XCTAssertEqual(p.s.received[other], 60_000)
        // The stalled stream is still held at its window until consumed.
        try p.client.sendData([UInt8](repeating: 1, count: 10), stream: stalled)
        try p.pump()
        XCTAssertEqual(p.s.received[stalled], 65_535)
        p.server.consume(stream: stalled, bytes: 65_535)
        try p.pump()
        XCTAssertEqual(p.s.received[stalled], 65_545)
    }

    func testTenMebibytesEachWayThroughTheWindows() throws {
        let total = 10 * 1024 * 1024
        let p = try Pair()
        p.c.keepBodies = false
        p.s.keepBodies = false
        var sentUp = Checksum(), sentDown = Checksum()
        var offsetUp = 0, offsetDown = 0
        var maxPending = 0
        let chunk = 16 * 1024 + 7   // deliberately not frame-aligned

        func produce(_ session: HTTP2Session, _ id: Int32, _ offset: inout Int, _ sum: inout Checksum) {
            var buffer = [UInt8](repeating: 0, count: chunk)
            while offset < total {
                let n = min(chunk, total - offset)
                for i in 0..<n { buffer[i] = UInt8(truncatingIfNeeded: (offset + i) &* 31 >> 3) }
                let more = buffer.withUnsafeBytes { raw -> Bool in
                    let slice = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    sum.add(slice)
                    return (try? session.sendData(slice, stream: id)) ?? false
                }
                offset += n
                maxPending = max(maxPending, session.pendingBytes(stream: id))
                if offset == total { try? session.endStream(id) }
                if !more { return }
            }
        }

        p.s.onHeaders = { session, _, id in
            try? session.submitResponse(stream: id, headers: [HTTP2Header(":status", "200")], hasBody: true)
            produce(session, id, &offsetDown, &sentDown)
        }
        p.s.onCanSendMore = { session, id in produce(session, id, &offsetDown, &sentDown) }
        p.c.onCanSendMore = { session, id in produce(session, id, &offsetUp, &sentUp) }
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        produce(p.client, id, &offsetUp, &sentUp)
        try p.pump()

        XCTAssertEqual(p.s.hashes[id], sentUp)
        XCTAssertEqual(p.c.hashes[id], sentDown)
        XCTAssertEqual(sentUp.count, total)
        XCTAssertEqual(sentDown.count, total)
        XCTAssertLessThan(maxPending, 64 * 1024 + chunk, "producers stopped at the high-water mark")
        XCTAssertTrue(p.c.events.contains(.endStream(id)))
        XCTAssertTrue(p.s.events.contains(.endStream(id)))
        XCTAssertEqual(p.c.events.last, .close(id, 0))
        XCTAssertTrue(p.client.isIdle)
        XCTAssertTrue(p.server.isIdle)
    }
}
