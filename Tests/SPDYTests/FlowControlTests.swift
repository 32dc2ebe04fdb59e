import XCTest
@testable import SPDY

final class FlowControlTests: XCTestCase {
    private func repliedServer() throws -> SessionHarness {
        let h = SessionHarness(role: .server)
        h.receive(.synStream(streamID: 1, headers: ["streamtype": "stdout"]))
        try h.session.reply(to: 1)
        _ = h.written()
        _ = h.events()
        return h
    }

    func testWithoutPeerFlowControlEverythingIsSent() throws {
        let h = try repliedServer()
        let payload = [UInt8](repeating: 1, count: 200_000)
        XCTAssertEqual(try h.session.sendData(payload, on: 1), payload.count)
        XCTAssertNil(h.session.sendWindow(for: 1))
        let frames = h.written()
        XCTAssertEqual(dataBegins(frames), [.begin(1, 65536, false), .begin(1, 65536, false), .begin(1, 65536, false), .begin(1, 3392, false)])
    }

    func testWindowUpdateSwitchesFlowControlOn() throws {
        let h = try repliedServer()
        h.recorder.recordWindows = true
        try h.session.sendData([UInt8](repeating: 1, count: 60_000), on: 1)
        h.receive(raw: Raw.control(type: 9, body: Raw.be32(1) + Raw.be32(1000)))
        XCTAssertTrue(h.session.isFlowControlActive)
        XCTAssertEqual(h.events(), [.window(1)])
        // The session window (never credited) is now the smaller one.
        XCTAssertEqual(h.session.sendWindow(for: 1), 65536 - 60_000)
        _ = h.written()
        let payload = [UInt8](repeating: 2, count: 10_000)
        XCTAssertEqual(try h.session.sendData(payload, on: 1, fin: true), 5536)
        XCTAssertEqual(dataBegins(h.written()),
                       [.begin(1, 5536, false)], "FIN is withheld while bytes remain")
        XCTAssertEqual(try h.session.sendData(payload, on: 1, fin: true), 0)
        h.receive(raw: Raw.control(type: 9, body: Raw.be32(0) + Raw.be32(100_000)))
        XCTAssertEqual(h.session.sendWindow(for: 1), 65536 - 60_000 + 1000 - 5536)
        h.receive(raw: Raw.control(type: 9, body: Raw.be32(1) + Raw.be32(100_000)))
        XCTAssertEqual(try h.session.sendData(Array(payload[5536...]), on: 1, fin: true), 4464)
        XCTAssertEqual(dataBegins(h.written()),
                       [.begin(1, 4464, true)])
        XCTAssertEqual(h.session.streamState(1)?.isLocalClosed, true)
    }

    func testSettingsInitialWindowAdjustsOpenStreams() throws {
        let h = try repliedServer()
        h.receive(.settings([.initialWindowSize(100)]))
        XCTAssertEqual(h.events(), [.settings([.initialWindowSize(100)])])
        XCTAssertEqual(h.session.sendWindow(for: 1), 100)
        XCTAssertEqual(try h.session.sendData([UInt8](repeating: 0, count: 500), on: 1), 100)
        // An empty FIN needs no window.
        try h.session.finish(1)
        XCTAssertEqual(h.session.streamState(1)?.isLocalClosed, true)
    }

    func testWindowOverflowResetsTheStream() throws {
        let h = try repliedServer()
        h.receive(.windowUpdate(streamID: 1, delta: 0x7fff_ffff))
        XCTAssertEqual(h.written(), [.control(.rstStream(streamID: 1, status: .flowControlError))])
        XCTAssertEqual(h.events(), [.reset(1, .flowControlError, byPeer: false)])
        h.receive(.windowUpdate(streamID: 0, delta: 0x7fff_ffff))
        XCTAssertTrue(h.session.hasFailed)
    }

    func testNothingIsCreditedToAPeerWithoutFlowControl() throws {
        // spdystream never sends flow-control frames and never reads ours once it stops reading:
        // unread WINDOW_UPDATEs make its kernel reset the connection at close, losing our unread output.
        let h = try repliedServer()
        h.receive(raw: Raw.data(1, [UInt8](repeating: 0, count: 40_000)))
        XCTAssertEqual(h.written(), [])
    }

    func testReceivedDataIsCreditedBack() throws {
        let h = try repliedServer()
        h.receive(.windowUpdate(streamID: 0, delta: 1)) // the peer does flow control
        _ = h.written()
        h.receive(raw: Raw.data(1, [UInt8](repeating: 0, count: 40_000)))
        XCTAssertEqual(h.written(), [
            .control(.windowUpdate(streamID: 1, delta: 40_000)), .control(.windowUpdate(streamID: 0, delta: 40_000)),
        ])
        var limits = SPDYLimits()
        limits.sendWindowUpdates = false
        let quiet = SessionHarness(role: .server, limits: limits)
        quiet.receive(.synStream(streamID: 1, headers: [:]))
        quiet.receive(raw: Raw.data(1, [UInt8](repeating: 0, count: 40_000)))
        XCTAssertEqual(quiet.written(), [])
    }
}
