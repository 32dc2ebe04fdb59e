import XCTest
@testable import HTTP2

/// DATA frames grow past 16 KiB only for a peer that announced a larger SETTINGS_MAX_FRAME_SIZE,
/// and then to at most our cap, half the peer's stream window and what is queued.
final class HTTP2FrameSizeTests: XCTestCase {
    func testMaxFrameSizeIsAnnouncedOnlyAboveTheProtocolDefault() {
        let maxFrameSize = 5  // SETTINGS_MAX_FRAME_SIZE
        XCTAssertFalse(HTTP2Settings().entries(isServer: false).contains { $0.settings_id == Int32(maxFrameSize) })
        var raised = HTTP2Settings()
        raised.maxFrameSize = 1 << 20
        XCTAssertEqual(raised.entries(isServer: false).first { $0.settings_id == Int32(maxFrameSize) }?.value, 1 << 20)
        raised.maxFrameSize = UInt32.max
        XCTAssertEqual(raised.entries(isServer: true).first { $0.settings_id == Int32(maxFrameSize) }?.value,
                       (1 << 24) - 1, "the protocol's largest value")
    }

    func testBodyGoesInFramesAsLargeAsThePeerAllowsUpToTheCap() throws {
        let lengths = try bodyFrameLengths(receiver: HTTP2Settings(initialWindowSize: 256 * 1024, maxFrameSize: 1 << 20),
                                           body: 300 * 1024)
        XCTAssertEqual(lengths, [128 * 1024, 128 * 1024, 44 * 1024], "128 KiB cap, half the 256 KiB window")
    }

    func testPeerThatKeepsTheDefaultGetsSixteenKiBFrames() throws {
        let lengths = try bodyFrameLengths(receiver: HTTP2Settings(initialWindowSize: 256 * 1024), body: 100 * 1024)
        XCTAssertEqual(lengths.reduce(0, +), 100 * 1024)
        XCTAssertEqual(lengths.max(), 16_384)
    }

    func testFrameNeverTakesMoreThanHalfThePeersStreamWindow() throws {
        let lengths = try bodyFrameLengths(receiver: HTTP2Settings(initialWindowSize: 65_535, maxFrameSize: 1 << 20),
                                           body: 200 * 1024)
        XCTAssertEqual(lengths.reduce(0, +), 200 * 1024)
        XCTAssertEqual(lengths.max(), 32_767)
    }

    func testFrameIsNoLargerThanWhatIsQueued() throws {
        // 20 KiB queued: one frame of 20 KiB (not a 128 KiB frame buffer for it, nor 16 KiB + 4 KiB).
        let lengths = try bodyFrameLengths(receiver: HTTP2Settings(initialWindowSize: 256 * 1024, maxFrameSize: 1 << 20),
                                           body: 20 * 1024)
        XCTAssertEqual(lengths, [20 * 1024])
    }

    /// The client sends `body` on one request stream to a server with `receiver` settings (it has
    /// heard them first); returns the DATA payload lengths as they went on the wire.
    private func bodyFrameLengths(receiver: HTTP2Settings, body: Int) throws -> [Int] {
        let p = try Pair(server: receiver)
        let id = try p.client.submitRequest(headers: request(), hasBody: true)
        try p.pump()
        try p.client.sendData([UInt8](repeating: 0x61, count: body), stream: id)
        var lengths: [Int] = []
        p.client.flush()
        var rounds = 0
        while !p.c.outbox.isEmpty || !p.s.outbox.isEmpty {
            let up = p.c.take()
            lengths += Frame.parse(up).filter { $0.type == 0 && $0.stream == UInt32(id) }.map(\.payload.count)
            if !up.isEmpty { try p.server.receive(up) }
            let down = p.s.take()
            if !down.isEmpty { try p.client.receive(down) }
            p.client.flush()
            p.server.flush()
            rounds += 1
            guard rounds < 10_000 else { XCTFail("no progress"); break }
        }
        XCTAssertEqual(p.s.received[id], body)
        return lengths
    }
}
